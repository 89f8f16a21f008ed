"""kill(-1): every process of the user. Asks with signal 0 first, so a failure of the walls is
reported instead of killing the test run."""
import os

report = []
for what, pid in (("every process", -1), ("the grader", {{GRADER_PID}})):
    try:
        os.kill(pid, 0)
        report.append(f"ESCAPED may signal {what}")
    except OSError as e:
        report.append(f"blocked {what}: {e.strerror}")
if not any(r.startswith("ESCAPED") for r in report):
    try:
        os.kill(-1, 9)
        report.append("ESCAPED kill(-1, SIGKILL)")
    except OSError as e:
        report.append(f"blocked kill(-1, SIGKILL): {e.strerror}")


def softmax(x, axis=-1):
    raise ValueError("PROBE " + "; ".join(report))
