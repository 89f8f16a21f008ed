"""Unmounts /proc to see the host's processes and their command lines."""
import ctypes
import os

libc = ctypes.CDLL(None, use_errno=True)
report = []
if libc.umount2(b"/proc", 2) == 0:  # MNT_DETACH
    report.append("ESCAPED unmounted /proc")
else:
    report.append(f"blocked umount: {os.strerror(ctypes.get_errno())}")
try:
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    lines = [open(f"/proc/{p}/cmdline", "rb").read() for p in pids]
    grader = "{{GRADER_PID}}" in pids
    report.append(f"{'ESCAPED' if grader or len(pids) > 20 else 'contained'} sees {len(pids)} processes")
except OSError as e:
    report.append(f"blocked listing /proc: {e.strerror}")


def softmax(x, axis=-1):
    raise ValueError("PROBE " + "; ".join(report))
