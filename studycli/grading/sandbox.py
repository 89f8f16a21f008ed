"""How the grading child is isolated, and how everything it started is ended.

Layers, each probed once per process and cached; `layers()` says which are on:

- ``namespaces``: the child runs under ``unshare`` in new user, PID, network and mount
  namespaces with a private /proc. It is offline, and when its first process exits the kernel
  kills everything left inside, even a daemon that double-forked into a new session.
- ``landlock`` and ``seccomp`` (confine.py): the child reads only the interpreter, the libraries
  and the installed packages (never the engine, $HOME or the database's folder), writes only its
  work directory, opens no socket, signals and traces only its own check's processes.
- ``cgroup``: where this process may create cgroups (v2 delegated, or v1 as root), the check's
  processes share one memory cap and one process cap. Without it, RLIMIT_NPROC caps the processes
  (counted per user namespace) and RLIMIT_AS the memory of each process.
- ``tmpfs scratch``: in the mount namespace, the scratch directory (the only place the learner's
  code may write) is a tmpfs of SCRATCH_BYTES and SCRATCH_FILES for the whole check, gone with the
  namespace. Without it the parent counts the folder while the child runs (`scratch_usage`) and
  ends the check past the same caps.

Without namespaces (mode ``process-group``) the child gets its own session; at the end its
process group is killed, then any process still carrying the child's environment token (a daemon
that escaped the group with ``setsid``) is found in /proc and killed too. With neither namespaces
nor Landlock, grading refuses to run learner code unless the caller opts in (`unsafe`).
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import time
from functools import lru_cache

from studycli.grading.harness import ADDRESS_SPACE_BYTES, CHECK_MEMORY_BYTES, FILE_SIZE_BYTES, PROCESSES, SCRATCH_BYTES, SCRATCH_FILES

NAMESPACES = "namespaces"
PROCESS_GROUP = "process-group"
NONE = "none"  # neither namespaces nor Landlock nor seccomp (a kernel without them, or forced to test)
TOKEN_VARIABLE = "STUDYCLI_GRADING_TOKEN"
UNSAFE_VARIABLE = "STUDYCLI_UNSAFE_GRADING"
NO_CGROUP_VARIABLE = "STUDYCLI_SANDBOX_NO_CGROUP"  # "1": as if no cgroup could be made (to test the rlimit path)
LAYERS_OFF_VARIABLE = "STUDYCLI_SANDBOX_OFF"  # e.g. "landlock,seccomp,cgroup,tmpfs": to measure each layer's cost

WORK_ROOT_ROOM = 16 * (SCRATCH_BYTES + FILE_SIZE_BYTES)  # 1.25 GiB free in /dev/shm, or the temporary folder is used
_UNSHARE_FLAGS = ("--pid", "--fork", "--kill-child", "--net", "--mount-proc")
_PROBE_TIMEOUT_S = 2.0
HIDDEN_PACKAGES = ("engine", "studycli")  # never readable by the child: the answer key and the grader
SYSTEM_LIBRARIES = ("/usr/bin", "/bin", "/usr/lib", "/usr/lib64", "/lib", "/lib64", "/etc/ld.so.cache", "/dev/urandom", "/dev/zero")


class SandboxUnavailable(Exception):
    """This machine offers no wall around learner code, and the caller did not opt in."""


@lru_cache(maxsize=1)
def isolation() -> tuple[str, tuple[str, ...]]:
    """The isolation available here: (mode, command prefix that starts a program in it)."""
    unshare = shutil.which("unshare", path=os.defpath + os.pathsep + "/usr/bin:/bin")
    if unshare is None:
        return PROCESS_GROUP, ()
    # A user namespace first: inside it even root lacks the real CAP_SYS_RESOURCE, so the learner's
    # code cannot raise its own resource limits. Without user namespaces, root can still make the rest.
    for prefix in ((unshare, "--user", "--map-root-user", *_UNSHARE_FLAGS), (unshare, *_UNSHARE_FLAGS)):
        if _works(prefix):
            return NAMESPACES, prefix
    return PROCESS_GROUP, ()


def _works(prefix: tuple[str, ...]) -> bool:
    try:
        done = subprocess.run(
            [*prefix, "/bin/sh", "-c", "test $$ = 1"],  # PID 1 inside means a new PID namespace
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=_PROBE_TIMEOUT_S,
            env={"PATH": "/usr/bin:/bin"},
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@lru_cache(maxsize=1)
def kernel_layers() -> dict[str, int | bool]:
    """What the kernel offers: landlock (the ABI version, 0 if none), seccomp."""
    from studycli.grading import confine  # ctypes: loaded only when grading starts

    return {"landlock": confine.landlock_abi(), "seccomp": confine.seccomp_supported()}


def layers_off() -> set[str]:
    return {name.strip() for name in os.environ.get(LAYERS_OFF_VARIABLE, "").split(",") if name.strip()}


def layers(mode: str | None = None) -> dict[str, bool]:
    """Which layers a check gets in `mode` (default: the best available here)."""
    mode = mode or isolation()[0]
    prefix = isolation()[1] if mode == NAMESPACES else ()
    kernel = kernel_layers() if mode != NONE else {"landlock": 0, "seccomp": False}
    off = layers_off()
    return {
        "user namespace": "--user" in prefix,
        "PID, network and mount namespaces": mode == NAMESPACES,
        "landlock": bool(kernel["landlock"]) and "landlock" not in off,
        "seccomp": bool(kernel["seccomp"]) and "seccomp" not in off,
        "cgroup": cgroup_parents() != [] and "cgroup" not in off and mode != NONE,
    }  # the tmpfs scratch comes with the mount namespace (see `report`)


def refusal(mode: str) -> str | None:
    """Why learner code must not run in `mode`, or None when at least one wall stands."""
    on = layers(mode)
    if on["PID, network and mount namespaces"] or on["landlock"]:
        return None
    return (
        "grading refused: this kernel offers neither namespaces nor Landlock, so learner code would run "
        f"with all your file rights; to grade anyway, pass --unsafe (or set {UNSAFE_VARIABLE}=1)"
    )


def unsafe_requested(unsafe: bool | None) -> bool:
    if unsafe is not None:
        return bool(unsafe)
    return os.environ.get(UNSAFE_VARIABLE, "") not in ("", "0")


def walls(mode: str, scratch: str) -> dict | None:
    """The walls the child puts up (the `walls` entry of job.json), or None in mode NONE; `scratch`
    is the one directory it may write in."""
    kernel = dict(kernel_layers())
    for layer in layers_off():
        kernel[layer] = 0
    if mode == NONE or not (kernel.get("landlock") or kernel.get("seccomp")):
        return None
    read, listed = readable_paths()
    return {
        "landlock": kernel["landlock"],
        "seccomp": kernel["seccomp"],
        "read": list(read),
        "list": list(listed),
        "write": [scratch, "/dev/null"],
    }


@lru_cache(maxsize=1)
def readable_paths() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(paths the child may read, folders it may only list): the system libraries, the standard
    library and every installed package except the engine and studycli."""
    import sysconfig

    paths = sysconfig.get_paths()
    sites = {os.path.realpath(paths[k]) for k in ("purelib", "platlib") if paths.get(k)}
    read, listed = list(SYSTEM_LIBRARIES), []
    for key in ("stdlib", "platstdlib", *sorted(sites)):
        folder = os.path.realpath(paths.get(key, key))
        if folder in listed or not os.path.isdir(folder):
            continue
        listed.append(folder)
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            full = os.path.join(folder, entry)
            if full in sites or entry in ("site-packages", "dist-packages") or entry.partition(".")[0].partition("-")[0] in HIDDEN_PACKAGES or entry.startswith("__editable__"):
                continue  # a site folder inside the standard library gets its own turn
            read.append(full)
    return tuple(read), tuple(listed)


# cgroups: one memory cap and one process cap for all processes of a check


@lru_cache(maxsize=1)
def cgroup_parents() -> list[tuple[str, str]]:
    """[(controller, folder)] where this process may create child cgroups: v2 first, else v1."""
    try:
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                folder = root + path.rstrip("/")
                try:
                    with open(os.path.join(folder, "cgroup.subtree_control")) as f:
                        enabled = f.read().split()
                except OSError:
                    continue
                if {"memory", "pids"} <= set(enabled) and os.access(folder, os.W_OK):
                    return [("v2", folder)]
        for controller in ("memory", "pids"):
            if controller in controllers.split(","):
                folder = f"/sys/fs/cgroup/{controller}" + path.rstrip("/")
                if os.access(folder, os.W_OK) and os.path.exists(os.path.join(folder, "cgroup.procs")):
                    found.append((controller, folder))
    return found if len(found) == 2 else []


class Cgroups:
    """The check's cgroups: made before the child starts, emptied and removed after it ends."""

    def __init__(self, token: str, use: bool = True):
        self.folders: list[tuple[str, str]] = []
        if not use or os.environ.get(NO_CGROUP_VARIABLE, "") not in ("", "0") or "cgroup" in layers_off():
            return
        for kind, parent in cgroup_parents():
            folder = os.path.join(parent, f"studycli-{token}")
            try:
                os.mkdir(folder)
                self.folders.append((kind, folder))
                self._limit(kind, folder)
            except OSError:
                self.remove()
                self.folders = []
                return

    @staticmethod
    def _limit(kind: str, folder: str):
        settings = {
            "v2": {"memory.max": CHECK_MEMORY_BYTES, "memory.swap.max": 0, "pids.max": PROCESSES},
            "memory": {"memory.limit_in_bytes": CHECK_MEMORY_BYTES},
            "pids": {"pids.max": PROCESSES},
        }[kind]
        for name, value in settings.items():
            try:
                with open(os.path.join(folder, name), "w") as f:
                    f.write(str(value))
            except OSError:
                if name != "memory.swap.max":  # absent without swap accounting
                    raise

    def procs_files(self) -> list[str]:
        return [os.path.join(folder, "cgroup.procs") for _, folder in self.folders]

    def caps_processes(self) -> bool:
        return bool(self.folders)

    def _memory_counter(self, files: dict[str, tuple[str, str | None]]) -> int:
        """The sum over the check's cgroups of one memory counter: `files` maps a cgroup kind to
        (file, field), field None for a file that holds a bare number. Unreadable counts as 0."""
        total = 0
        for kind, folder in self.folders:
            if kind not in files:
                continue
            name, field = files[kind]
            try:
                with open(os.path.join(folder, name)) as f:
                    text = f.read()
            except OSError:
                continue
            if field is None:
                total += int(text) if text.strip().isdigit() else 0
                continue
            fields = dict(line.split()[:2] for line in text.splitlines() if len(line.split()) >= 2)
            value = fields.get(field, "0")
            total += int(value) if value.isdigit() else 0
        return total

    def out_of_memory(self) -> bool:
        """True if the kernel killed a process of the check for going over the memory cap."""
        return self._memory_counter({"v2": ("memory.events", "oom_kill"),
                                     "memory": ("memory.oom_control", "oom_kill")}) > 0

    def hit_cap(self) -> bool:
        """True if the check's processes asked for more memory than the cap at some point (the
        kernel then reclaims, thrashes or kills): what a check that stalled there ran into."""
        return self._memory_counter({"v2": ("memory.events", "max"), "memory": ("memory.failcnt", None)}) > 0

    def kill_all(self) -> int:
        killed = 0
        for _ in range(50):
            pids = set()
            for path in self.procs_files():
                try:
                    with open(path) as f:
                        pids |= {int(p) for p in f.read().split()}
                except (OSError, ValueError):
                    pass
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
            time.sleep(0.005)
        return killed

    def remove(self):
        self.kill_all()
        for _, folder in self.folders:
            for _ in range(100):
                try:
                    os.rmdir(folder)
                    break
                except FileNotFoundError:
                    break
                except OSError:  # a process still exiting
                    time.sleep(0.005)


def report() -> str:
    """A few lines for `study doctor`: which layers grading uses here, and the limits."""
    mode, prefix = isolation()
    on = layers(mode)
    state = ", ".join(f"{name} {'on' if value else 'off'}" for name, value in on.items())
    limits = limits_text()
    if refusal(mode):
        return f"grading sandbox: {state}.\n{refusal(mode)}.\nLimits: {limits}."
    if mode == NAMESPACES:
        how = "learner code runs offline in its own PID namespace, writing only a tmpfs scratch; nothing it starts or writes outlives a check"
    else:
        how = "process-group fallback (no PID/network namespaces here): stray processes are hunted down and the scratch folder is counted during each check"
    return f"grading sandbox: {state}.\n{how}.\nLimits: {limits}."


def limits_text() -> str:
    memory = f"{CHECK_MEMORY_BYTES >> 30} GiB memory per check" if cgroup_parents() else f"{ADDRESS_SPACE_BYTES >> 30} GiB address space per process"
    scratch = f"{SCRATCH_BYTES >> 20} MiB in {SCRATCH_FILES:,} files of scratch per check"
    return f"{memory}, {PROCESSES} processes, CPU time, {FILE_SIZE_BYTES >> 20} MiB files, {scratch}"


def work_root() -> str | None:
    """Where work directories are made: /dev/shm where it is a writable folder with room to spare
    (RAM: a tree the learner's code left is removed at once, and its pages count against the
    check's memory), else the system's temporary folder (None). A small /dev/shm (a container's
    64 MiB) is left alone: a check could fill it for everyone else."""
    root = "/dev/shm"
    try:
        st = os.lstat(root)
        room = os.statvfs(root)
    except OSError:
        return None
    roomy = room.f_bavail * room.f_frsize >= WORK_ROOT_ROOM
    return root if stat.S_ISDIR(st.st_mode) and os.access(root, os.W_OK | os.X_OK) and roomy else None


def scratch_usage(dir_fd: int, max_bytes: int, max_files: int) -> tuple[int, int]:
    """(bytes allocated, files and folders) below the folder `dir_fd`, counted until either passes
    its cap. Never follows a link, never raises, and holds one descriptor however deep the tree
    (it climbs back up through ".."). A folder moved while it is counted ends the count early:
    the next count starts again (and the memory cgroup still holds what /dev/shm keeps)."""
    size = files = 0
    try:
        fd = os.dup(dir_fd)
    except OSError:
        return size, files
    try:
        levels = [(_entries(fd), _identity(fd))]  # per level on the way down: what is left to count, and which folder it is
        while size <= max_bytes and files <= max_files:
            entries, _ = levels[-1]
            if not entries:
                levels.pop()
                if not levels:
                    break
                up = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = up
                if _identity(fd) != levels[-1][1]:
                    break  # moved meanwhile
                continue
            name = entries.pop()
            files += 1
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                size += st.st_blocks * 512
                if not stat.S_ISDIR(st.st_mode):
                    continue
                below = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            except OSError:
                continue
            os.close(fd)
            fd = below
            levels.append((_entries(fd), _identity(fd)))
    except OSError:
        pass
    finally:
        os.close(fd)
    return size, files


def _entries(fd: int) -> list[str]:
    try:
        return os.listdir(fd)  # names only: the descriptor they are looked up in changes on the way
    except OSError:
        return []


def _identity(fd: int) -> tuple[int, int]:
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def kill_everything(proc: subprocess.Popen, mode: str, token: str) -> int:
    """Kills the child's process group (and in the fallback mode every stray); returns how many strays."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    if mode == NAMESPACES:
        return 0
    return kill_strays(token)


def kill_strays(token: str, rounds: int = 20) -> int:
    """Kills every process whose environment carries `token`; repeats until none is left."""
    marker = f"{TOKEN_VARIABLE}={token}".encode()
    killed = set()
    for _ in range(rounds):
        found = [pid for pid in _pids() if _has_marker(pid, marker)]
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.01)
    return len(killed)


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def _has_marker(pid: int, marker: bytes) -> bool:
    if pid == os.getpid():
        return False
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read(1 << 16)
    except OSError:
        return False
    return marker in environ.split(b"\0")


def remove_tree(path: str) -> None:
    """Removes a folder the learner's code may have filled; never follows a link, never raises,
    and needs neither recursion nor one open file per level, however deep the tree.

    Called once every process of the check is dead, so nothing moves the tree meanwhile.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    names: list[str] = []  # the way down from `path` to the folder `fd` is open on
    stuck: set[int] = set()  # folders that could not be emptied: not entered twice
    try:
        while True:
            below = None
            try:
                entries = list(os.scandir(fd))
            except OSError:
                entries = []
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.inode() not in stuck:
                            below = entry.name
                            break
                    else:
                        os.unlink(entry.name, dir_fd=fd)
                except OSError:
                    continue
            if below is not None:
                try:
                    down = os.open(below, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError:
                    stuck.add(os.stat(below, dir_fd=fd, follow_symlinks=False).st_ino)
                    continue
                os.close(fd)
                fd, names = down, [*names, below]
                continue
            if not names:
                break
            inode = os.fstat(fd).st_ino
            up = os.open("..", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd, name = up, names.pop()
            try:
                os.rmdir(name, dir_fd=fd)
            except OSError:
                stuck.add(inode)
    except OSError:
        pass
    finally:
        os.close(fd)
    try:
        os.rmdir(path)
    except OSError:
        pass
