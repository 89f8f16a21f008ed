"""Grading a learner's file: run it in a limited child process, compare in the parent, give a verdict.

The parent starts the child first (so that the two NumPy imports overlap), then draws the cases,
writes only their inputs, and computes the engine's answers while the child works. The child
(harness.py) writes back what the learner's function returned, as plain .npy files that are
opened here with care: a regular file (no symlink, no FIFO), below a size cap, parsed without
pickle. What the learner's code prints is kept apart and only ever shown, never parsed, so it
cannot forge a verdict. At the end the child and everything it started are killed.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import select
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from studycli.errors import UsageError
from studycli.grading import sandbox
from studycli.grading.checks import get_check
from studycli.grading.harness import ADDRESS_SPACE_BYTES, CHECK_MEMORY_BYTES, FILE_SIZE_BYTES, PROCESSES, SCRATCH, SCRATCH_BYTES, SCRATCH_FILES
from studycli.grading.verdict import ArrayInfo, CaseResult, Verdict

HARNESS = Path(__file__).with_name("harness.py")
# The child runs harness.py through a loader, not as a script: a script is compiled on every run,
# a loaded module comes from its cached bytecode (written when the parent imported it).
BOOTSTRAP = (
    "import importlib.util, sys; "
    "spec = importlib.util.spec_from_file_location('studycli_harness', sys.argv[1]); "
    "harness = importlib.util.module_from_spec(spec); spec.loader.exec_module(harness); harness.main(sys.argv[1:])"
)
DEFAULT_TIMEOUT_S = 5.0
WALL_GRACE_S = 0.3  # after the deadline, the child's own alarm has this long to say which case hung
RESULT_CAP = FILE_SIZE_BYTES + 4096  # the child cannot write more anyway (RLIMIT_FSIZE)
EVENTS_CAP = 1 << 20
SHOWN_OUTPUT = 500  # characters of the learner's output a verdict carries
FORCED_ISOLATION = "STUDYCLI_SANDBOX"  # "process-group" forces the fallback, "none" a kernel without walls
ANSWER_CAP = 1 << 20  # an answer file is a page of code: anything larger is refused before a child starts
SCRATCH_POLL_S = 0.05  # how often the parent counts a scratch folder that no tmpfs bounds


class AnswerFileError(UsageError):
    """The file to grade does not exist or cannot be read."""


class SandboxRefused(UsageError):
    """No wall can be put up around learner code here, and the caller did not opt in."""


class UnsafeResult(Exception):
    """A result file the child left is not something the parent will read."""


def grade(
    check_name: str, path, *, timeout_s: float = DEFAULT_TIMEOUT_S, seed: int | None = None, isolation: str | None = None, unsafe: bool | None = None
) -> Verdict:
    """Runs the learner's file at `path` against the check `check_name` and returns the verdict.

    `timeout_s` is the wall-clock limit for the whole run (the CPU limit is set from it too);
    `seed` fixes the random cases (default: fresh ones, recorded in the verdict's details);
    `isolation` forces "namespaces", "process-group" (no namespaces) or "none" (no namespaces,
    Landlock or seccomp) instead of the best one available (also STUDYCLI_SANDBOX);
    `unsafe=True` (or STUDYCLI_UNSAFE_GRADING=1) grades even where no wall can be put up.
    Raises UnknownCheck, AnswerFileError or SandboxRefused (all UsageErrors) for bad arguments or
    a machine without walls; anything the learner's code does ends up in the verdict.
    """
    return grade_many(check_name, [path], timeout_s=timeout_s, seed=seed, isolation=isolation, unsafe=unsafe)[0]


def grade_many(
    check_name: str, paths, *, timeout_s: float = DEFAULT_TIMEOUT_S, seed: int | None = None, isolation: str | None = None, unsafe: bool | None = None
) -> list[Verdict]:
    """Grades several files with the same cases in ONE child process, one verdict per file.

    Cheaper than one `grade` per file (one start-up), but the files are not isolated from each
    other: a file that crashes, hangs or floods the output spoils the verdicts of the files after
    it. Meant for trusted files, such as several attempts of one learner, or tests.
    `timeout_s` is per file.
    """
    check = get_check(check_name)
    answers = [_answer_path(p) for p in paths]
    started = time.monotonic()
    mode, prefix = _isolation(isolation)
    why = sandbox.refusal(mode)
    if why and not sandbox.unsafe_requested(unsafe):
        raise SandboxRefused(why)
    seed = secrets.randbelow(1 << 31) if seed is None else int(seed)
    workdir = tempfile.mkdtemp(prefix="studycli-grade-", dir=sandbox.work_root())
    os.mkdir(os.path.join(workdir, SCRATCH), 0o700)
    dir_fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    child = None
    try:
        child = _Child(workdir, dir_fd, check, answers, timeout_s, mode, prefix)
        try:
            child.start()  # the child imports NumPy meanwhile, but runs no learner code before `send`
            suites = import_everything()
            import numpy as np

            suite = suites.SUITES[check.name]
            cases = suite.cases(seed)
            child.send(cases)
            with np.errstate(all="ignore"):
                expected = [suite.expected(case, check.name) for case in cases]
            child.wait()
        finally:
            child.stop()
        verdicts = [judge_safely(check, suite, cases, expected, child, k) for k in range(len(answers))]
    finally:
        if child is not None:
            child.close()  # the last hold on a tmpfs scratch: the kernel frees it now
        os.close(dir_fd)
        sandbox.remove_tree(workdir)
    duration_ms = round((time.monotonic() - started) * 1000)
    for verdict in verdicts:
        verdict.duration_ms = duration_ms
        verdict.details.update(
            sandbox=mode,
            layers=[name for name, on in child.layers.items() if on],
            seed=seed,
            timeout_s=timeout_s,
            cpu_limit_s=child.cpu_seconds,
            memory_limit_bytes=CHECK_MEMORY_BYTES if child.cgroups.folders else ADDRESS_SPACE_BYTES,
            process_limit=PROCESSES,
            file_limit_bytes=FILE_SIZE_BYTES,
            scratch=child.scratch_kind,
            scratch_limit_bytes=SCRATCH_BYTES,
            scratch_limit_files=SCRATCH_FILES,
        )
        if len(answers) > 1:
            verdict.details["shared_child_with"] = len(answers) - 1
        if mode != sandbox.NAMESPACES:
            verdict.details["sandbox_note"] = "no PID/network namespaces here: process-group fallback, not offline"
            verdict.details["strays_killed"] = child.strays
        if why:
            verdict.details["sandbox_note"] = "UNSAFE: graded without any wall (the learner's code had all your file rights)"
    return verdicts


def exited_within(proc: subprocess.Popen, timeout_s: float) -> bool:
    """True when `proc` ends within `timeout_s` (it is then reaped). Woken by the kernel through a
    pidfd the moment it ends, where Popen.wait(timeout) would notice up to 50 ms late."""
    try:
        pidfd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):  # before Linux 5.3 / Python 3.9, or already reaped
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(timeout_s * 1000):
            return False
    finally:
        os.close(pidfd)
    proc.wait()
    return True


def import_everything():
    """Imports every module the parent runs after grading; returns `suites`.

    Called before the child is told to go: the learner's code never runs before every module the
    parent will use is in memory, so a file it plants (were Landlock missing) is never imported.
    """
    from studycli.grading import compare, feedback, suites  # noqa: F401

    return suites


def _answer_path(path) -> Path:
    answer = Path(path).expanduser()
    if not answer.exists():
        raise AnswerFileError(f"{answer}: no such file")
    if not answer.is_file():
        raise AnswerFileError(f"{answer}: not a file")
    if not os.access(answer, os.R_OK):
        raise AnswerFileError(f"{answer}: cannot be read")
    if answer.stat().st_size > ANSWER_CAP:
        raise AnswerFileError(f"{answer}: larger than {ANSWER_CAP >> 20} MiB; is it really an answer file?")
    return answer.resolve()


def _isolation(forced: str | None) -> tuple[str, tuple[str, ...]]:
    forced = forced or os.environ.get(FORCED_ISOLATION) or None
    if forced in (sandbox.PROCESS_GROUP, sandbox.NONE):
        return forced, ()
    mode, prefix = sandbox.isolation()
    if forced == sandbox.NAMESPACES and mode != sandbox.NAMESPACES:
        raise UsageError("namespaces are not available here (see `study doctor`)")
    return mode, prefix


def _engine_root() -> str:
    import importlib.util

    spec = importlib.util.find_spec("engine")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return str(Path(locations[0]).parent) if locations else ""


class _Child:
    """The grading child process: start, feed, wait for, kill, and read back."""

    def __init__(self, workdir, dir_fd, check, answers, timeout_s, mode, prefix):
        self.workdir, self.dir_fd, self.check, self.answers = workdir, dir_fd, check, answers
        self.timeout_s = float(timeout_s) * len(answers)
        self.mode, self.prefix = mode, prefix
        self.cpu_seconds = max(1, int(-(-self.timeout_s // 1)))  # ceil: RLIMIT_CPU counts whole seconds
        self.token = secrets.token_hex(8)
        self.proc = None
        self.go = None
        self.ready = None  # the child says on this pipe whether a tmpfs bounds its scratch
        self.scratch = os.path.join(workdir, SCRATCH)
        self.scratch_fd = None
        self.scratch_kind = None  # "tmpfs" (bounded by the kernel) or "folder" (counted by `_watch`)
        self.scratch_full = None  # "bytes" or "files" when the learner's code reached that cap
        self.scratch_exceeded = False  # a counted folder went past it (a tmpfs cannot)
        self.watcher = None
        self.watching = threading.Event()
        self.timed_out = False
        self.out_of_memory = False
        self.hit_memory_cap = False
        self.forged = False
        self.strays = 0
        self.layers = sandbox.layers(mode)
        self.cgroups = sandbox.Cgroups(self.token, use=mode != sandbox.NONE)
        self.layers["cgroup"] = bool(self.cgroups.folders)

    def start(self):
        self.deadline = time.monotonic() + self.timeout_s
        copies = []
        for k, answer in enumerate(self.answers):  # the child reads the copy: it cannot see the learner's folder
            with open(answer, "rb") as f:
                self._write(f"answer_{k}.py", f.read(ANSWER_CAP))
            copies.append({"copy": f"answer_{k}.py", "path": str(answer)})
        in_user_namespace = "--user" in self.prefix
        job = {
            "answers": copies,
            "function": self.check.name,
            "n_outputs": self.check.n_outputs,
            "deadline": self.deadline,
            "cpu_seconds": self.cpu_seconds,
            "engine_root": _engine_root(),
            "walls": sandbox.walls(self.mode, self.scratch),
            "mount_scratch": self.mode == sandbox.NAMESPACES and "tmpfs" not in sandbox.layers_off(),
            "cgroups": self.cgroups.procs_files(),
            # RLIMIT_NPROC counts per user: only inside a user namespace is that the check alone
            "processes": PROCESSES if in_user_namespace and not self.cgroups.folders else 0,
        }
        self._write("job.json", json.dumps(job).encode())
        env = {
            "HOME": self.scratch,
            "PATH": "/usr/bin:/bin",
            "LC_ALL": "C.UTF-8",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            sandbox.TOKEN_VARIABLE: self.token,
        }
        read_end, self.go = os.pipe()
        self.ready, ready_end = os.pipe()
        out = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600, dir_fd=self.dir_fd)
        try:
            self.proc = subprocess.Popen(
                [*self.prefix, sys.executable, "-I", "-B", "-c", BOOTSTRAP, str(HARNESS), self.workdir, str(read_end), str(ready_end)],
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                pass_fds=(read_end, ready_end),
                start_new_session=True,
            )
        finally:
            os.close(out)
            os.close(read_end)
            os.close(ready_end)

    def send(self, cases):
        """Writes the cases' inputs and lets the child start on them."""
        import numpy as np

        arrays, encoded = {}, []
        for i, case in enumerate(cases):
            counter = iter(range(1 << 30))

            def enc(value, i=i, counter=counter):
                if isinstance(value, np.ndarray):
                    key = f"c{i}_{next(counter)}"
                    arrays[key] = value
                    return {"a": key}
                if isinstance(value, dict):
                    return {"d": {str(k): enc(v) for k, v in value.items()}}
                if isinstance(value, (list, tuple)):
                    return {"t" if isinstance(value, tuple) else "l": [enc(v) for v in value]}
                if isinstance(value, np.generic):
                    return {"v": value.item()}
                return {"v": value}

            encoded.append(
                {"args": [enc(v) for v in case.args], "kwargs": {k: enc(v) for k, v in case.kwargs.items()}, "integration": case.integration}
            )
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        self._write("inputs.npz", buffer.getvalue())
        self._write("cases.json", json.dumps(encoded).encode())
        said = self._open_scratch()
        try:  # "gu": go, but first unmount a tmpfs this process cannot reach (then the folder is counted)
            os.write(self.go, b"gu" if said == b"tmpfs" and self.scratch_kind == "folder" else b"go")
        except OSError:  # the child is already gone; its events say why
            pass
        self._close_go()
        if self.scratch_kind == "folder":
            self.watcher = threading.Thread(target=self._watch, name="studycli-scratch", daemon=True)
            self.watcher.start()

    def _open_scratch(self) -> bytes:
        """Opens the scratch directory the learner's code will write in, before any of it runs;
        returns what the child said of it.

        With a tmpfs mounted in the child's mount namespace, that is /proc/PID/root/.../scratch:
        the open descriptor keeps the tmpfs readable after the namespace is gone, and closing it
        frees the tmpfs. Otherwise it is the folder itself, counted by `_watch` while the child runs.
        """
        said = b""
        poller = select.poll()  # not select(): descriptors may be numbered past 1024
        poller.register(self.ready, select.POLLIN)
        if poller.poll(max(self.deadline - time.monotonic(), 0.0) * 1000):
            said = os.read(self.ready, 16)
        os.close(self.ready)
        self.ready = None
        folder = os.open(SCRATCH, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=self.dir_fd)
        if said == b"tmpfs":
            try:
                fd = os.open(self.scratch_seen_by_child(), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            except OSError:
                fd = None
            if fd is not None and os.fstat(fd).st_dev != os.fstat(folder).st_dev:
                os.close(folder)
                self.scratch_fd, self.scratch_kind = fd, "tmpfs"
                return said
            if fd is not None:
                os.close(fd)
        self.scratch_fd, self.scratch_kind = folder, "folder"
        return said

    def scratch_seen_by_child(self) -> str:
        """The scratch directory as the child's mount namespace has it (/proc/PID/root/...)."""
        return f"/proc/{self.proc.pid}/root{self.scratch}"

    def _watch(self):
        """Counts the scratch folder while the child runs; past the check's cap, ends the child."""
        while not self.watching.wait(SCRATCH_POLL_S):
            if self._count_scratch():
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.cgroups.kill_all()
                return

    def _count_scratch(self) -> bool:
        """True (and `scratch_full` set) when the counted folder holds more than the check's caps."""
        size, files = sandbox.scratch_usage(self.scratch_fd, SCRATCH_BYTES, SCRATCH_FILES)
        if size > SCRATCH_BYTES or files > SCRATCH_FILES:
            self.scratch_full, self.scratch_exceeded = "files" if files > SCRATCH_FILES else "bytes", True
        return self.scratch_exceeded

    def wait(self):
        self.timed_out = not exited_within(self.proc, max(self.deadline + WALL_GRACE_S - time.monotonic(), 0.0))

    def stop(self):
        """Ends the child and all it started, and removes its cgroups; never raises."""
        self._close_go()
        self.watching.set()
        if self.proc is not None:
            self.strays = sandbox.kill_everything(self.proc, self.mode, self.token)
        if self.watcher is not None:
            self.watcher.join()
        self.out_of_memory = self.cgroups.out_of_memory()
        self.hit_memory_cap = self.cgroups.hit_cap()
        self.strays += self.cgroups.kill_all()
        self.cgroups.remove()
        if self.scratch_kind == "folder" and not self.scratch_exceeded:
            self._count_scratch()  # once more: a burst between two counts, or after the last one
        elif self.scratch_kind == "tmpfs":
            try:
                room = os.fstatvfs(self.scratch_fd)
            except OSError:
                return
            self.scratch_full = "files" if room.f_favail == 0 else "bytes" if room.f_bavail == 0 else None

    def close(self):
        """Lets go of the scratch directory (a tmpfs is freed with it)."""
        for fd in (self.scratch_fd, self.ready):
            if fd is not None:
                os.close(fd)
        self.scratch_fd = self.ready = None

    def _close_go(self):
        if self.go is not None:
            os.close(self.go)
            self.go = None

    def _write(self, name, data: bytes):
        """Writes a file for the child atomically (whatever the child may have put there)."""
        tmp = f".{name}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=self.dir_fd)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)

    # Reading back what the child left: every file may have been tampered with.

    def read(self, name, cap, dir_fd=None) -> bytes:
        """A file of the work directory (or of `dir_fd`): a regular file, not a link, at most `cap` bytes."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.dir_fd if dir_fd is None else dir_fd)
        except FileNotFoundError:
            raise
        except OSError as e:
            raise UnsafeResult(f"{name} is a symbolic link or cannot be opened ({e.strerror})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise UnsafeResult(f"{name} is not a regular file")
            if st.st_size > cap:
                raise UnsafeResult(f"{name} is larger than {cap} bytes")
            chunks, size = [], 0
            while size <= cap:
                chunk = os.read(fd, min(1 << 20, cap + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > cap:
                raise UnsafeResult(f"{name} is larger than {cap} bytes")
            return b"".join(chunks)
        finally:
            os.close(fd)

    def events(self) -> list[dict]:
        """The child's events, each checked field by field (see `valid_event`); only the first
        EVENTS_CAP bytes count (learner code can append junk), and nothing in them can raise."""
        try:
            fd = os.open("events.jsonl", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.dir_fd)
        except OSError:
            return []
        try:
            data = os.pread(fd, EVENTS_CAP, 0) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
        except OSError:
            data = b""
        finally:
            os.close(fd)
        events = []
        for line in data.split(b"\n"):
            event = valid_event(line)
            if event is not None:
                events.append(event)
            elif line.strip():
                self.forged = True  # the harness writes only valid events: someone else wrote this
        return events

    def ended(self) -> dict:
        """How the worker process ended: {"exit": code} or {"signal": number}, with "cpu_s"."""
        try:
            data = json.loads(self.read("exit.json", 4096), parse_constant=_no_constants)
        except (OSError, UnsafeResult, ValueError, RecursionError):
            return {}
        fields = {"exit": (int, 255), "signal": (int, 128), "cpu_s": (float, 1e6)}
        return _checked(data, fields) if isinstance(data, dict) else {}

    def output_size(self) -> int:
        try:
            st = os.stat("output.txt", dir_fd=self.dir_fd, follow_symlinks=False)
        except OSError:
            return 0
        return st.st_size if stat.S_ISREG(st.st_mode) else 0

    def output(self, start=0, end=None) -> str:
        """What the learner's code printed between two offsets, trimmed to SHOWN_OUTPUT characters."""
        try:
            fd = os.open("output.txt", os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=self.dir_fd)
        except OSError:
            return ""
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return ""
            size = os.fstat(fd).st_size
            end = size if end is None else end
            start, end = min(max(0, int(start)), size), min(max(0, int(end)), size)
            if end <= start:
                return ""
            half = SHOWN_OUTPUT * 2  # bytes; UTF-8 text is trimmed to characters below
            if end - start <= 2 * half:
                text = os.pread(fd, end - start, start).decode("utf-8", "replace")
                return _trim(text)
            head = os.pread(fd, half, start).decode("utf-8", "replace")
            tail = os.pread(fd, half, end - half).decode("utf-8", "replace")
            return _trim(head + "\n" + tail, skipped=True)
        finally:
            os.close(fd)

    def result(self, k: int, i: int, n_outputs: int) -> list:
        """The arrays file k's function returned for case i."""
        import numpy as np

        got = []
        for j in range(n_outputs):
            name = f"out_{k}_{i}_{j}.npy"
            try:
                data = self.read(name, RESULT_CAP, dir_fd=self.scratch_fd)
            except FileNotFoundError:
                raise UnsafeResult(f"the result file {name} is missing") from None
            got.append(load_npy(data, name, np))
        return got


# What an event may hold: field -> (type, bound). Anything else is dropped, and so is a field of
# another type, a number out of its range (NaN never is in range) or a string cut to its bound.
MAX_INDEX = 1 << 20
MAX_OFFSET = 1 << 40
EVENT_FIELDS = {
    "e": (str, 32), "f": (int, MAX_INDEX), "i": (int, MAX_INDEX), "out": (int, MAX_OFFSET), "ms": (float, 1e8),
    "kind": (str, 32), "type": (str, 200), "message": (str, 4000), "traceback": (str, 6000), "origin": (str, 200),
    "phase": (str, 32), "returned": (str, 2000), "found": (list, 64),
}  # fmt: skip
EVENT_LINE_CAP = 32 << 10
EVENT_NESTING_CAP = 8  # brackets in one line: the real events nest at most two deep


def _no_constants(name):
    raise ValueError(f"{name} is not a number the grader accepts")


def valid_event(line: bytes) -> dict | None:
    """One event line as a dict of checked fields, or None; never raises."""
    if not line or len(line) > EVENT_LINE_CAP or line.count(b"[") + line.count(b"{") > EVENT_NESTING_CAP:
        return None
    try:
        raw = json.loads(line.decode("utf-8", "replace"), parse_constant=_no_constants)
    except (ValueError, RecursionError):
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("e"), str):
        return None
    return _checked(raw, EVENT_FIELDS)


def _checked(raw: dict, fields: dict) -> dict:
    event = {}
    for key, value in raw.items():
        if key not in fields or isinstance(value, bool):
            continue
        kind, bound = fields[key]
        if kind is str and isinstance(value, str):
            event[key] = _printable(value[-bound:] if key in ("message", "traceback") else value[:bound])
        elif kind is int and isinstance(value, int) and 0 <= value <= bound:
            event[key] = value
        elif kind is float and isinstance(value, (int, float)) and 0 <= value <= bound:  # NaN fails both
            event[key] = float(value)
        elif kind is list and isinstance(value, list):
            event[key] = [_printable(v[:200]) for v in value[:bound] if isinstance(v, str)]
    return event


def _printable(text: str) -> str:
    """A string made encodable (a lone surrogate in an exception message would otherwise crash
    whoever prints the verdict)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def load_npy(data: bytes, name: str, np):
    """An array from the bytes of a .npy file, refusing pickles, objects and inconsistent sizes."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except Exception as e:  # noqa: BLE001 - any garbage (a pickle, text) lands here
        raise UnsafeResult(f"{name} is not a NumPy .npy file ({e})") from None
    if dtype.hasobject or dtype.kind not in "biufc":
        raise UnsafeResult(f"{name} holds {dtype} values, not numbers")
    count = 1
    for n in shape:
        count *= int(n)
    offset = f.tell()
    if len(data) - offset != count * dtype.itemsize:
        raise UnsafeResult(f"{name} is truncated or has trailing data")
    flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return flat.reshape(shape, order="F" if fortran else "C").copy()


def _trim(text: str, skipped: bool = False) -> str:
    if len(text) <= SHOWN_OUTPUT and not skipped:
        return text
    half = SHOWN_OUTPUT // 2
    return text[:half].rstrip() + "\n[... output cut ...]\n" + text[-half:].lstrip()


# Judging: from what the child left to one verdict


SIGNAL_NAMES = {
    signal.SIGSEGV: "a segmentation fault (SIGSEGV)",
    signal.SIGBUS: "a bus error (SIGBUS)",
    signal.SIGFPE: "a floating-point exception (SIGFPE)",
    signal.SIGILL: "an illegal instruction (SIGILL)",
    signal.SIGABRT: "an abort (SIGABRT)",
    signal.SIGKILL: "SIGKILL",
    signal.SIGTERM: "SIGTERM",
}


INTERFERED = "the answer interfered with the grader"


def judge_safely(check, suite, cases, expected, child: _Child, k: int) -> Verdict:
    """The verdict of file k; whatever the child left, this returns a verdict and never raises."""
    try:
        return _judge(check, suite, cases, expected, child, k)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against forged records
        results = [CaseResult(i, case.label, "", "not run") for i, case in enumerate(cases)]
        return Verdict(check.name, "error", f"{INTERFERED} ({type(exc).__name__})", results)


@dataclass
class _Facts:
    """What the child left about file k, read once, for the end conditions below."""

    check: object
    suite: object
    child: _Child
    k: int
    all_events: list
    file_events: dict
    results: list
    failures: list
    output: str
    completed: bool
    imported: bool
    import_failed: dict
    where: str
    ended: dict

    def verdict(self, status, reason, **more) -> Verdict:
        return Verdict(self.check.name, status, reason, self.results, output=self.output, **more)

    @property
    def signal_number(self):
        return self.ended.get("signal")

    @property
    def cpu_exceeded(self) -> bool:
        s = self.signal_number
        return s == signal.SIGXCPU or (s == signal.SIGKILL and self.ended.get("cpu_s", 0) >= self.child.cpu_seconds)

    @property
    def statuses(self) -> set:
        return {r.status for r in self.results}


def _judge(check, suite, cases, expected, child: _Child, k: int) -> Verdict:
    """The verdict of file k: the first end condition that applies, the most serious first."""
    facts = _gather(check, suite, cases, expected, child, k)
    for condition in END_CONDITIONS:
        verdict = condition(facts)
        if verdict is not None:
            return verdict
    raise AssertionError("no end condition applied")  # unreachable: _case_error always answers


def _gather(check, suite, cases, expected, child: _Child, k: int) -> _Facts:
    """Reads the events of file k and compares each case that returned."""
    all_events = child.events()
    events = [e for e in all_events if e.get("f") == k]
    by_case: dict[int, dict] = {}
    for event in events:
        i = event.get("i")
        if i is not None and i < len(cases):
            by_case.setdefault(i, {})[event["e"]] = event
    file_events = {e["e"]: e for e in events if "i" not in e}
    results = [CaseResult(i, case.label, summarise(check, case), "not run") for i, case in enumerate(cases)]
    output = child.output(file_events.get("file", {}).get("out", 0), file_events.get("file_end", {}).get("out"))
    failures, last_started = [], None
    for i, case in enumerate(cases):
        if "start" in by_case.get(i, {}):
            last_started = i
        _fill_case(suite, check, case, expected[i], by_case.get(i, {}), results[i], child, k, failures)
    completed = "file_end" in file_events or "import_failed" in file_events
    imported = "imported" in file_events
    stuck = next((r for r in results if r.status in ("timeout", "memory", "error") and r.message), None)
    at = results[last_started] if stuck is None and last_started is not None else stuck
    where = "while importing your file" if not imported else (f"in case {at.index + 1} ({at.label})" if at else "")
    ended = {} if completed else child.ended()  # how the process ended concerns the file it ended in
    return _Facts(check, suite, child, k, all_events, file_events, results, failures, output, completed, imported,
                  file_events.get("import_failed") or {}, where, ended)  # fmt: skip


def _fill_case(suite, check, case, expected, ev: dict, result: CaseResult, child: _Child, k: int, failures: list):
    case_begin = ev.get("start", {}).get("out", 0)
    if "raised" in ev:
        _fill_raised(check, case, ev["raised"], result)
        result.output = child.output(case_begin, ev["raised"].get("out"))
    elif "done" in ev:
        result.output = child.output(case_begin, ev["done"].get("out"))
        result.duration_ms = ev["done"].get("ms")
        try:
            got = child.result(k, result.index, check.n_outputs)
        except UnsafeResult as e:
            result.status, result.message = "error", f"a result could not be read safely: {e}"
            return
        _compare(suite, case, expected, got, result)
        if result.status == "fail":
            failures.append((case, expected, got))
    elif "start" in ev:  # started and never came back: the process died or was stopped here
        result.status = "timeout" if child.timed_out else "error"
        result.message = "stopped by the time limit" if child.timed_out else "the process ended during this case"
        result.output = child.output(case_begin)


# End conditions: each gives the verdict when it applies, else None. Their order is the verdict's
# priority: a timeout or running out of memory explains whatever came after it.


def _not_started(f: _Facts):
    if "file" in f.file_events:
        return None
    if f.k > 0:
        return f.verdict("error", "not graded: an earlier file in the same run stopped the grading process")
    if any(e["e"] == "timeout" for e in f.all_events) or f.child.timed_out:
        return f.verdict("timeout", "the grading process did not start in time (the machine is very busy?)")
    return f.verdict("error", "the grading process ended before it could import your file")


def _interfered(f: _Facts):
    if not f.child.forged:
        return None
    return f.verdict("error", f"{INTERFERED}: it wrote records of its own into the grader's channel")


def _killed_for_memory(f: _Facts):
    """The kernel killed a process of the check at the check's memory cap: that explains the rest."""
    return _out_of_memory(f) if f.child.out_of_memory else None


def _scratch_full(f: _Facts):
    """The learner's code wrote more than the check's scratch holds: that explains what failed after."""
    said = f.import_failed.get("kind") == "disk" or any(r.message == SCRATCH_MESSAGE for r in f.results)
    passed = f.completed and f.statuses == {"pass"}
    if not (said or f.child.scratch_full and not passed or f.child.scratch_exceeded):  # a tmpfs filled to the brim is no fault
        return None
    where = f" {f.where}" if f.where and not passed else ""  # a folder counted after the end: no case to blame
    if f.child.scratch_full == "files":
        what = f"made more than the {SCRATCH_FILES:,} files and folders"
    else:
        what = f"wrote more than the {SCRATCH_BYTES >> 20} MiB"
    frames = str(f.import_failed.get("traceback", "")) + str(f.import_failed.get("message", ""))
    return f.verdict("error", f"your code {what} its scratch folder may hold{where}; write less (files written in a loop?)", traceback=frames.rstrip())


def _timed_out(f: _Facts):
    timed_out = f.child.timed_out and not f.completed
    if not (timed_out or f.cpu_exceeded or f.import_failed.get("kind") == "timeout" or "timeout" in f.statuses):
        return None
    if f.child.hit_memory_cap:   # out of time while the kernel fought the memory cap: the cap is the cause
        limit = CHECK_MEMORY_BYTES >> 30
        return f.verdict("memory", f"ran out of memory ({limit} GiB allowed) {f.where}: it stalled at the cap until "
                                   "time ran out; is an array far larger than it needs to be?")
    limit = f"the CPU limit of {f.child.cpu_seconds} s" if f.cpu_exceeded and not timed_out else f"the time limit of {f.child.timeout_s:g} s"
    return f.verdict("timeout", f"stopped after {limit} {f.where}: an endless loop, or far too much work?")


def _out_of_memory(f: _Facts):
    oom_text = "OpenBLAS" in f.output and ("alloc" in f.output.lower() or "memory" in f.output.lower())
    if not ("memory" in f.statuses or f.import_failed.get("kind") == "memory" or oom_text or f.child.out_of_memory):
        return None
    limit = CHECK_MEMORY_BYTES if f.child.cgroups.folders else ADDRESS_SPACE_BYTES
    return f.verdict("memory", f"ran out of memory ({limit >> 30} GiB allowed) {f.where}: is an array far larger than it needs to be?")


def _flooded(f: _Facts):
    flooded = f.import_failed.get("kind") == "output" or any(r.message == OUTPUT_MESSAGE for r in f.results)
    if not (flooded or (not f.completed and f.child.output_size() >= FILE_SIZE_BYTES)):
        return None
    return f.verdict("error", f"your code printed more than {FILE_SIZE_BYTES >> 20} MiB {f.where}; print less (a print inside a loop?)")


def _import_failed(f: _Facts):
    return _import_verdict(f.check, f.import_failed, f.verdict) if f.import_failed else None


def _crashed(f: _Facts):
    if f.signal_number is None:
        return None
    name = SIGNAL_NAMES.get(f.signal_number, f"signal {f.signal_number}")
    return f.verdict("error", f"the process crashed with {name} {f.where}", traceback=_fault_frames(f.child, f.k))


def _ended_early(f: _Facts):
    if f.completed:
        return None
    code = f.ended.get("exit")
    if code is not None:
        return f.verdict("error", f"your code ended the process (exit code {code}, os._exit?) {f.where}")
    return f.verdict("error", f"the grading process ended unexpectedly {f.where}")


def _all_pass(f: _Facts):
    if any(r.status != "pass" for r in f.results):
        return None
    return f.verdict("pass", f"all {len(f.results)} cases pass")


def _wrong(f: _Facts):
    first = next(r for r in f.results if r.status != "pass")
    if first.status != "fail":
        return None
    n_failed = sum(r.status == "fail" for r in f.results)
    reason = f"{n_failed} of {len(f.results)} cases wrong; the first is case {first.index + 1} ({first.label}): {first.message}"
    return f.verdict("fail", reason, hint=f.suite.recognise(f.failures))


def _case_error(f: _Facts):
    first = next(r for r in f.results if r.status != "pass")
    return f.verdict("error", f"{first.message} in case {first.index + 1} ({first.label})")


END_CONDITIONS = (_not_started, _interfered, _killed_for_memory, _scratch_full, _timed_out, _out_of_memory, _flooded, _import_failed, _crashed, _ended_early, _all_pass, _wrong, _case_error)  # fmt: skip


OUTPUT_MESSAGE = "printed more than the output limit"
SCRATCH_MESSAGE = "filled the scratch folder"


def _fill_raised(check, case, raised: dict, result: CaseResult):
    """A case whose call raised: its status, one message line, and the learner's own frames."""
    kind, message = raised.get("kind"), str(raised.get("message", "")).strip()
    frames = str(raised.get("traceback", ""))
    result.status = {"timeout": "timeout", "memory": "memory"}.get(kind, "error")
    result.duration_ms = raised.get("ms")
    if raised.get("type") == "NotImplementedError":
        result.message = f"{check.name} is not written yet: it raises NotImplementedError"
    elif kind == "exit":
        result.message = f"your code called sys.exit ({message})"
    elif kind == "bad_return":
        result.message = f"{check.name} {message}"
    elif kind == "timeout":
        result.message = "stopped by the time limit"
    elif kind == "output":
        result.message = OUTPUT_MESSAGE
    elif kind == "disk":
        result.message = SCRATCH_MESSAGE
    elif kind == "memory":
        result.message = f"ran out of memory ({message})"
    elif kind == "engine":
        result.message = f"your code imports the engine (the answer key) at run time: {message}"
    elif case.integration and not frames:
        result.message = f"the model failed when it used your {check.name}: {message}"
    else:
        result.message = f"your code raised {message}"
    if kind in ("exception", "memory", "exit", "disk") and frames:
        result.traceback = (frames + message).rstrip()


def _compare(suite, case, expected, got, result: CaseResult):
    import numpy as np

    comparison = suite.compare(case, expected, got)
    result.status = "pass" if comparison.ok else "fail"
    result.message = comparison.message
    result.max_abs_error = _finite(comparison.max_abs_error)
    result.where = comparison.where
    result.expected_at = _finite(comparison.expected_at)
    result.got_at = _finite(comparison.got_at)
    from studycli.grading.compare import preview

    want = expected if not isinstance(expected, tuple) else None
    if want is not None and len(got) == 1:
        want, have = np.asarray(want), np.asarray(got[0])
        result.expected = ArrayInfo(list(want.shape), str(want.dtype), preview(want))
        result.got = ArrayInfo(list(have.shape), str(have.dtype), preview(have))


def _finite(x):
    """Numbers for JSON: NaN and infinities are written as text."""
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return str(x)
    return x


def _import_verdict(check, event: dict, verdict) -> Verdict:
    kind = event.get("kind")
    if kind == "timeout":
        return verdict("timeout", "importing your file did not finish within the time limit (code at the top level that never ends?)")
    if kind == "missing":
        found = [str(f) for f in event.get("found", [])][:8]
        also = f" (it defines: {', '.join(found)})" if found else ""
        return verdict("error", f"your file has no function named `{check.name}`{also}")
    if kind == "not_callable":
        return verdict("error", f"`{check.name}` in your file is a {event.get('type')}, not a function")
    if kind == "engine":
        return verdict("error", f"`{check.name}` is or uses the engine's own ({event.get('origin')}), the answer key; write your own version")
    message = str(event.get("message", "")).strip()
    traceback = str(event.get("traceback", ""))
    if kind == "syntax":
        return verdict("error", f"your file has a syntax error, {message}", traceback=traceback)
    if kind == "exit":
        return verdict("error", f"your file called sys.exit while being imported ({message})", traceback=traceback)
    return verdict("error", f"importing your file raised {message.splitlines()[-1] if message else 'an exception'}", traceback=traceback)


def _fault_frames(child: _Child, k: int) -> str:
    """The learner's own lines from Python's crash report (faulthandler), if any."""
    try:
        text = child.read("fault.txt", 1 << 16).decode("utf-8", "replace")
    except (FileNotFoundError, UnsafeResult):
        return ""
    path = str(child.answers[k])
    lines = [line.strip() for line in text.splitlines() if path in line]
    return "\n".join(lines[:10])


def summarise(check, case) -> str:
    """The call of a case as the learner would write it, small arrays in full, large ones summarised."""
    import numpy as np

    from studycli.grading.compare import preview

    if case.summary:
        return case.summary
    names = [part.split("=")[0].strip() for part in check.signature.split(",")]

    def show(value):
        if isinstance(value, np.ndarray):
            return f"{value.dtype} {describe(value.shape)} {preview(value)}"
        return repr(value)

    parts = [f"{names[j] if j < len(names) else '?'}={show(v)}" for j, v in enumerate(case.args)]
    parts += [f"{k}={show(v)}" for k, v in case.kwargs.items()]
    return f"{check.name}({', '.join(parts)})"


def describe(shape) -> str:
    return "scalar" if tuple(shape) == () else str(tuple(shape))
