"""Connects to a Unix socket outside the sandbox (and tries TCP and an abstract socket too)."""
import socket

report = []
for what, family, address in [
    ("unix socket", socket.AF_UNIX, "{{ROOT}}/agent.sock"),
    ("abstract socket", socket.AF_UNIX, "\0studycli-probe"),
    ("tcp", socket.AF_INET, ("127.0.0.1", 9)),
]:
    try:
        s = socket.socket(family, socket.SOCK_STREAM)
        s.settimeout(0.2)
        s.connect(address)
        report.append(f"ESCAPED connected to {what}")
    except OSError as e:
        report.append(f"blocked {what}: {e.strerror or e}")


def softmax(x, axis=-1):
    raise ValueError("PROBE " + "; ".join(report))
