"""The runner's own defences: reading what the child left, bad arguments, shared children."""

import io
import os
import pickle
import textwrap

import numpy as np
import pytest

from studycli.errors import UsageError
from studycli.grading import UnknownCheck, grade
from studycli.grading.runner import AnswerFileError, UnsafeResult, _Child, grade_many, load_npy


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_load_npy_round_trips_plain_arrays():
    for array in (np.arange(6, dtype=np.float32).reshape(2, 3), np.asfortranarray(np.eye(3)), np.array(7), np.array([True, False])):
        loaded = load_npy(npy_bytes(array), "out.npy", np)
        assert loaded.dtype == array.dtype and np.array_equal(loaded, array)


def test_load_npy_refuses_pickles_objects_and_bad_sizes():
    with pytest.raises(UnsafeResult, match="not a NumPy"):
        load_npy(pickle.dumps([1, 2, 3]), "out.npy", np)
    objects = io.BytesIO()
    np.save(objects, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(UnsafeResult, match="not numbers"):
        load_npy(objects.getvalue(), "out.npy", np)
    data = npy_bytes(np.zeros(100))
    with pytest.raises(UnsafeResult, match="truncated"):
        load_npy(data[:-8], "out.npy", np)
    with pytest.raises(UnsafeResult, match="truncated"):
        load_npy(data + b"extra", "out.npy", np)
    with pytest.raises(UnsafeResult, match="not numbers"):
        load_npy(npy_bytes(np.array(["text"])), "out.npy", np)


@pytest.fixture
def child(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    yield _Child(str(tmp_path), fd, None, [tmp_path / "answer.py"], 1.0, "process-group", ())
    os.close(fd)


def test_reading_refuses_links_fifos_and_big_files(child, tmp_path):
    (tmp_path / "secret").write_text("not yours")
    os.symlink(tmp_path / "secret", tmp_path / "link.npy")
    os.mkfifo(tmp_path / "fifo.npy")
    (tmp_path / "big.npy").write_bytes(b"x" * 2000)
    with pytest.raises(UnsafeResult, match="symbolic link"):
        child.read("link.npy", 1000)
    with pytest.raises(UnsafeResult, match="not a regular file"):
        child.read("fifo.npy", 1000)  # and it does not block
    with pytest.raises(UnsafeResult, match="larger than"):
        child.read("big.npy", 1000)
    with pytest.raises(FileNotFoundError):
        child.read("missing.npy", 1000)


def test_garbled_events_are_ignored(child, tmp_path):
    (tmp_path / "events.jsonl").write_text('{"e": "file", "f": 0}\nnot json\n[1, 2]\n{"no": "event"}\n{"e": "finished"}\n')
    assert [e["e"] for e in child.events()] == ["file", "finished"]


def test_bad_arguments_are_usage_errors(tmp_path):
    with pytest.raises(AnswerFileError, match="no such file"):
        grade("softmax", tmp_path / "missing.py")
    with pytest.raises(AnswerFileError, match="not a file"):
        grade("softmax", tmp_path)
    (tmp_path / "a.py").write_text("")
    with pytest.raises(UnknownCheck):
        grade("softmaxx", tmp_path / "a.py")
    assert issubclass(AnswerFileError, UsageError)


def write(tmp_path, name, text):
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_a_cpu_limit_signal_is_a_timeout(tmp_path):
    path = write(tmp_path, "xcpu", """
        import os
        import signal


        def softmax(x, axis=-1):
            os.kill(os.getpid(), signal.SIGXCPU)
    """)
    verdict = grade("softmax", path, seed=1)
    assert verdict.status == "timeout" and "CPU limit" in verdict.reason


def test_files_sharing_a_child_after_a_crash_are_not_graded(tmp_path):
    crash = write(tmp_path, "crash", """
        import ctypes


        def softmax(x, axis=-1):
            return ctypes.string_at(0)
    """)
    good = write(tmp_path, "good", """
        import numpy as np


        def softmax(x, axis=-1):
            e = np.exp(x - x.max(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)
    """)
    verdicts = grade_many("softmax", [good, crash, good], seed=3)
    assert [v.status for v in verdicts] == ["pass", "error", "error"]
    assert "segmentation fault" in verdicts[1].reason
    assert "not graded" in verdicts[2].reason


def test_output_is_attributed_to_its_case_and_the_seed_is_recorded(tmp_path):
    path = write(tmp_path, "talks", """
        import numpy as np

        print("at import")
        calls = []


        def softmax(x, axis=-1):
            calls.append(1)
            print(f"call {len(calls)}")
            e = np.exp(x - x.max(axis=axis, keepdims=True))
            return e / e.sum(axis=axis, keepdims=True)
    """)
    verdict = grade("softmax", path, seed=9)
    assert verdict.passed and verdict.details["seed"] == 9
    assert [c.output.strip() for c in verdict.cases[:3]] == ["call 1", "call 2", "call 3"]
    assert verdict.output.startswith("at import")


def test_an_answer_file_over_the_size_cap_is_refused_before_any_child_starts(tmp_path, monkeypatch):
    from studycli.grading import runner

    big = tmp_path / "softmax.py"
    big.write_text("def softmax(x, axis=-1):\n    return x\n" + "# padding\n" * (runner.ANSWER_CAP // 10))
    assert big.stat().st_size > runner.ANSWER_CAP
    started = []
    monkeypatch.setattr(runner._Child, "start", lambda self: started.append(self))
    with pytest.raises(AnswerFileError) as info:
        grade("softmax", big)
    message = str(info.value)
    assert isinstance(info.value, UsageError) and "\n" not in message
    assert message.startswith(str(big)) and "larger than 1 MiB" in message
    assert started == []
    exactly = tmp_path / "exactly.py"
    exactly.write_bytes(b"#" * runner.ANSWER_CAP)
    assert runner._answer_path(exactly) == exactly.resolve()  # the cap itself is allowed
