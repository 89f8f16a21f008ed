"""The kernel's walls around learner code: Landlock, seccomp, no capabilities, no new privileges.

Standard library only, through ctypes: the grading child (harness.py, run with `python -I`) loads
this file by path before it confines itself, and the parent imports it to see which layers this
kernel offers (`layers()`, for `study doctor` and for refusing to grade without any wall).

- Landlock (Linux 5.13+): the file system is read-only and only where the job says (the
  interpreter, the libraries, the installed packages minus `engine` and `studycli`); the scratch
  directory is the one place the child may write. From ABI 4 on, TCP bind and connect are
  refused; from ABI 6 on, signals and abstract Unix sockets reach only processes of the same
  check. A landlocked process can neither trace a process outside its domain (so /proc/PID/mem
  of the grader is closed) nor mount or unmount anything.
- seccomp (x86-64): no sockets of any family, no ptrace, no mount, no new namespaces, no
  kill(-1), and none of the kernel interfaces a grader never needs (bpf, io_uring, keyrings...).
- capabilities: the bounding set is emptied and every set cleared, so even root inside the user
  namespace cannot lift a resource limit or remount /proc.
- scratch (in a mount namespace): a tmpfs capped in bytes and in files is mounted on the scratch
  directory, so the whole check can write no more than that, and it vanishes with the namespace.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

# Landlock (include/uapi/linux/landlock.h)
SYS_LANDLOCK_CREATE_RULESET, SYS_LANDLOCK_ADD_RULE, SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1, 2, 4, 8
FS_TRUNCATE, FS_IOCTL_DEV = 1 << 14, 1 << 15
FS_BITS_BY_ABI = {1: 13, 2: 14, 3: 15, 4: 15, 5: 16}  # how many access bits each ABI knows
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2
READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV  # all a file rule may hold

# mount(2)
MS_NOSUID, MS_NODEV = 2, 4

# prctl
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_SECCOMP, PR_CAP_AMBIENT = 38, 24, 22, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SECCOMP_MODE_FILTER = 2
SYS_CAPSET = 126  # x86-64
LAST_CAP = 63

# seccomp (x86-64 syscall numbers)
AUDIT_ARCH_X86_64 = 0xC000003E
SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_ERRNO, SECCOMP_RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
DENIED_SYSCALLS = {
    "socket": 41, "connect": 42, "socketpair": 53, "ptrace": 101, "pivot_root": 155, "chroot": 161,
    "mount": 165, "umount2": 166, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250,
    "unshare": 272, "perf_event_open": 298, "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311,
    "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442,
}  # fmt: skip
SYS_KILL, SYS_CLONE, SYS_CLONE3 = 62, 56, 435
NAMESPACE_FLAGS = 0x7E020000  # CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]


class ConfinementError(OSError):
    """A wall the child asked for could not be put up; the child must not run learner code."""


def landlock_abi() -> int:
    """The Landlock ABI version of this kernel, 0 when Landlock is missing or disabled."""
    version = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def seccomp_supported() -> bool:
    """True where the filter below applies (x86-64 Linux with seccomp filters)."""
    return platform.machine() == "x86_64" and os.path.exists("/proc/sys/kernel/seccomp/actions_avail")


def layers() -> dict[str, bool]:
    """Which of this module's layers the kernel offers: landlock, seccomp."""
    return {"landlock": landlock_abi() > 0, "seccomp": seccomp_supported()}


def mount_scratch(path: str, size_bytes: int, files: int) -> bool:
    """Mounts a tmpfs of at most `size_bytes` and `files` inodes on `path`; False where this
    process may not mount (no mount namespace of its own, no CAP_SYS_ADMIN in it)."""
    options = f"size={int(size_bytes)},nr_inodes={int(files)},mode=0700".encode()
    done = _libc.mount(b"tmpfs", os.fsencode(path), b"tmpfs", ctypes.c_ulong(MS_NOSUID | MS_NODEV), ctypes.c_char_p(options))
    return done == 0


def unmount_scratch(path: str) -> None:
    """Takes the tmpfs of `mount_scratch` off `path` again (MNT_DETACH)."""
    if _libc.umount2(os.fsencode(path), ctypes.c_int(2)) != 0:
        raise ConfinementError(ctypes.get_errno(), f"umount2({path}) failed")


def no_new_privileges():
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise ConfinementError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


def drop_capabilities():
    """Clears every capability set, the bounding set first (so no later exec brings one back)."""
    for cap in range(LAST_CAP + 1):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EPERM without CAP_SETPCAP (nothing to drop), EINVAL past the last
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = struct.pack("Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this thread
    data = bytes(24)  # two empty {effective, permitted, inheritable}
    if _libc.syscall(SYS_CAPSET, ctypes.c_char_p(header), ctypes.c_char_p(data)) != 0:
        raise ConfinementError(ctypes.get_errno(), "capset failed")


def landlock(read_paths, write_paths, abi: int, list_paths=()) -> None:
    """Restricts this process (and all it starts) to reading `read_paths` and writing `write_paths`;
    in `list_paths` it may only list the folder (what is inside needs its own rule).

    Paths that do not exist are skipped; a path that is a file gets only file rights.
    """
    fs_all = (1 << FS_BITS_BY_ABI.get(abi, 16)) - 1
    attr = struct.pack("QQQ", fs_all, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, ctypes.c_char_p(attr[:size]), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise ConfinementError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, rights in ((read_paths, READ), (list_paths, FS_READ_DIR), (write_paths, fs_all)):
            for path in paths:
                _allow(ruleset, path, rights & fs_all)
        no_new_privileges()
        if _libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise ConfinementError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not _is_dir(fd):
            rights &= FILE_RIGHTS
        rule = struct.pack("=Qi", rights, fd)  # struct landlock_path_beneath_attr is packed
        if _libc.syscall(SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), ctypes.c_char_p(rule), ctypes.c_uint32(0)) != 0:
            raise ConfinementError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def _is_dir(fd: int) -> bool:
    import stat

    return stat.S_ISDIR(os.fstat(fd).st_mode)


def seccomp_filter() -> bytes:
    """The BPF program: errno EPERM for the denied calls, ENOSYS for clone3, the rest allowed."""
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JSET|K, BPF_RET|K

    def op(code, k, jt=0, jf=0):
        return struct.pack("HBBI", code, jt, jf, k)

    deny, allow = SECCOMP_RET_ERRNO | errno.EPERM, SECCOMP_RET_ALLOW
    body = [op(ld, 0)]  # the syscall number
    body.append(op(0x35, 0x40000000, 0, 1))  # JGE: the x32 ABI -> deny
    body.append(op(ret, deny))
    for nr in DENIED_SYSCALLS.values():
        body += [op(jeq, nr, 0, 1), op(ret, deny)]
    body += [op(jeq, SYS_CLONE3, 0, 1), op(ret, SECCOMP_RET_ERRNO | errno.ENOSYS)]  # glibc then uses clone
    body += [op(jeq, SYS_CLONE, 0, 3), op(ld, 16), op(jset, NAMESPACE_FLAGS, 0, 1), op(ret, deny)]
    body += [op(ld, 0), op(jeq, SYS_KILL, 0, 3), op(ld, 16), op(jeq, 0xFFFFFFFF, 0, 1), op(ret, deny)]
    body.append(op(ret, allow))
    head = [op(ld, 4), op(jeq, AUDIT_ARCH_X86_64, 1, 0), op(ret, SECCOMP_RET_KILL_PROCESS)]
    return b"".join(head + body)


def seccomp() -> None:
    """Installs the filter on this process and everything it starts (needs no_new_privs)."""
    program = seccomp_filter()
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("HxxxxxxQ", len(program) // 8, ctypes.addressof(buffer))
    no_new_privileges()
    if _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.cast(ctypes.c_char_p(fprog), ctypes.c_void_p).value, 0, 0) != 0:
        raise ConfinementError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
