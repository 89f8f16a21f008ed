"""How the grading child is isolated, and how everything it started is ended.

Two modes, probed once per process and cached:

- ``namespaces``: the child runs under ``unshare`` in new PID, network and mount namespaces with
  a private /proc. It is offline, and when its first process exits the kernel kills everything
  left inside, even a daemon that double-forked into a new session.
- ``process-group``: no namespaces allowed here. The child gets its own session; at the end its
  process group is killed, then any process still carrying the child's environment token (a
  daemon that escaped the group with ``setsid``) is found in /proc and killed too. Grading is not
  offline in this mode.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from functools import lru_cache

NAMESPACES = "namespaces"
PROCESS_GROUP = "process-group"
TOKEN_VARIABLE = "STUDYCLI_GRADING_TOKEN"

_UNSHARE_FLAGS = ("--pid", "--fork", "--kill-child", "--net", "--mount-proc")
_PROBE_TIMEOUT_S = 2.0


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


def report() -> str:
    """A few lines for `study doctor`: which isolation grading uses here, and what it means."""
    mode, prefix = isolation()
    if mode == NAMESPACES:
        how = "user, PID, network and mount" if "--user" in prefix else "PID, network and mount (no user namespace: root could lift the limits)"
        return (
            f"grading sandbox: namespaces ({how}): learner code runs offline in its own PID namespace;\n"
            "nothing it starts outlives a check. Limits: 2 GiB memory, CPU time, 16 MiB files."
        )
    return (
        "grading sandbox: process-group fallback (no PID/network namespaces available here:\n"
        "`unshare --pid --net` was refused or is missing). Learner code runs in its own process\n"
        "group with resource limits; stray processes are hunted down after each check, but the\n"
        "code is not offline. Limits: 2 GiB memory, CPU time, 16 MiB files."
    )


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
