"""Reads the grader's memory, environment and command line through /proc, and tries ptrace."""
import ctypes
import os

report = []
for name in ("mem", "environ", "cmdline", "maps"):
    try:
        with open(f"/proc/{{GRADER_PID}}/{name}", "rb") as f:
            f.read(64)
        report.append(f"ESCAPED read {name}")
    except OSError as e:
        report.append(f"blocked {name}: {e.strerror}")
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(16, {{GRADER_PID}}, None, None) == 0:  # PTRACE_ATTACH
    report.append("ESCAPED ptrace")
else:
    report.append(f"blocked ptrace: {os.strerror(ctypes.get_errno())}")


def softmax(x, axis=-1):
    raise ValueError("PROBE " + "; ".join(report))
