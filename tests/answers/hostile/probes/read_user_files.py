"""Reads the learner's own files: a key under the home folder, the answer's own folder, $HOME."""
import os

report = []
for what, action in [
    ("key", lambda: open("{{ROOT}}/home/.ssh/id_ed25519").read()),
    ("home listing", lambda: os.listdir("{{REAL_HOME}}")),
    ("user folder listing", lambda: os.listdir("{{ROOT}}")),
    ("etc passwd", lambda: open("/etc/passwd").read()),
]:
    try:
        action()
        report.append(f"ESCAPED read {what}")
    except OSError as e:
        report.append(f"blocked {what}: {e.strerror}")


def softmax(x, axis=-1):
    raise ValueError("PROBE " + "; ".join(report))
