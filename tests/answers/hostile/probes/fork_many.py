"""Starts 400 processes that would outlive the check."""
import subprocess

started = 0
for _ in range(400):
    try:
        subprocess.Popen(["sleep", "271.8283"])
        started += 1
    except OSError:
        break


def softmax(x, axis=-1):
    state = "ESCAPED" if started >= 100 else "blocked"
    raise ValueError(f"PROBE {state}: started {started} processes")
