"""Writes 600 MB outside the work directory, where it would stay after the check."""
import os

report = []
chunk = b"x" * (1 << 20)
for path in ("/tmp/studycli-probe-{{TOKEN}}.bin", "{{ROOT}}/big.bin", "/dev/shm/studycli-probe-{{TOKEN}}.bin"):
    try:
        with open(path, "wb") as f:
            for _ in range(600):
                f.write(chunk)
        report.append(f"ESCAPED wrote {path}")
    except OSError as e:
        report.append(f"blocked {path}: {e.strerror}")


def softmax(x, axis=-1):
    raise ValueError("PROBE " + "; ".join(report))
