"""Writes forged records into the grader's event channel: NaN, huge offsets, deep nesting. By
name it cannot reach the channel (it lives outside the scratch directory); through a descriptor
its process inherited, it can, and the grader must see through that."""
import fcntl
import os
import stat

import numpy as np

FORGED = (
    '{"e": "done", "f": 0, "i": 0, "ms": NaN, "out": 1e30}\n'
    '{"e": "file_end", "f": 0, "out": 1000000000000000000000000000000}\n'
    '{"e": "raised", "f": 0, "i": 1, "kind": "exception", "message": ' + "[" * 200000 + "]" * 200000 + "}\n"
    '{"e": "start", "f": 0, "i": -5, "out": -1}\n'
).encode()

report = []
try:
    with open("../events.jsonl", "ab") as f:
        f.write(FORGED)
    report.append("ESCAPED wrote ../events.jsonl by name")
except OSError as e:
    report.append(f"blocked ../events.jsonl: {e.strerror}")
for fd in range(3, 64):
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode) and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND:
            os.write(fd, FORGED)
    except OSError:
        pass
print("PROBE " + "; ".join(report), flush=True)


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
