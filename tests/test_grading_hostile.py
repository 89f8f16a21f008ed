"""Hostile answers: each gets the right verdict within its time limit plus 1 s, the grading process
(this one) stays alive, nothing the answer started is left running, and nothing it wrote is
trusted. Every answer runs in its own child; the children run three at a time.
"""

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from studycli.grading import grade, render, sandbox

HOSTILE = Path(__file__).parent / "answers" / "hostile"
PICKLE_MARKER = Path(__file__).resolve().parents[1] / "PWNED-by-pickle"
LOOP_LIMIT_S = 1.0  # the time limit for the answers that never finish
LIMIT_S = 5.0  # for the others, which end quickly: a generous limit keeps a busy machine from failing them
SLEEPER_MARKERS = ("271.8281", "271.8282", "314.1592")  # argv of the processes the answers start

EXPECTED = {
    "endless_loop": ("timeout", "time limit"),
    "endless_c_call": ("timeout", " limit of "),  # the wall limit or the CPU limit, whichever comes first
    "huge_allocation": ("memory", "out of memory"),
    "sys_exit": ("error", "sys.exit"),
    "exit_at_import": ("error", "sys.exit while being imported"),
    "os_exit": ("error", "ended the process"),
    "segfault": ("error", "segmentation fault"),
    "flood_output": ("error", "printed more than 16 MiB"),
    "flood_at_import": ("error", "printed more than 16 MiB while importing"),
    "syntax_error": ("error", "syntax error, line 1"),
    "import_error": ("error", "ModuleNotFoundError"),
    "missing_function": ("error", "no function named `softmax` (it defines: soft_max)"),
    "nan_output": ("fail", "NaN"),
    "wrong_shape": ("fail", "shape (42,) instead of shape (2, 3, 7)"),
    "returns_none": ("error", "returned None"),
    "child_processes": ("error", "ValueError: started two sleepers"),
    "double_fork": ("pass", "all 10 cases pass"),
    "symlink_result": ("error", "symbolic link"),
    "pickle_result": ("error", "not a NumPy .npy file"),
    "probe_environment": ("error", "probe done"),
    "uses_engine": ("error", "the engine's own"),
    "unprintable_error": ("error", "ValueError: bad ? value"),
}


def sleepers() -> list[str]:
    """Command lines of processes started by the hostile answers that are still running."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and any(m.encode() in argv for m in SLEEPER_MARKERS):
            found.append(" ".join(a.decode() for a in argv))
    return found


def run(name, isolation=None):
    limit = LOOP_LIMIT_S if EXPECTED[name][0] == "timeout" else LIMIT_S
    started = time.monotonic()
    verdict = grade("softmax", HOSTILE / f"{name}.py", timeout_s=limit, seed=11, isolation=isolation)
    return name, verdict, time.monotonic() - started, limit


@pytest.fixture(scope="module")
def verdicts():
    PICKLE_MARKER.unlink(missing_ok=True)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(run, EXPECTED))
    return {name: (verdict, elapsed, limit) for name, verdict, elapsed, limit in results}


def test_every_hostile_answer_has_an_expectation():
    assert {p.stem for p in HOSTILE.glob("*.py")} == set(EXPECTED) | {"lift_limits"}


def test_an_answer_cannot_lift_its_own_limits():
    """In a user namespace even root lacks CAP_SYS_RESOURCE: the 2 GiB limit holds."""
    mode, prefix = sandbox.isolation()
    if "--user" not in prefix:
        pytest.skip("no user namespace here: root could lift the limits (see `study doctor`)")
    verdict = grade("softmax", HOSTILE / "lift_limits.py", timeout_s=LIMIT_S, seed=11)
    assert verdict.status == "memory", verdict.reason


@pytest.mark.parametrize("name", list(EXPECTED))
def test_hostile_answer_gets_the_right_verdict_in_time(name, verdicts):
    verdict, elapsed, limit = verdicts[name]
    status, words = EXPECTED[name]
    assert verdict.status == status, f"{name}: {verdict.status}: {verdict.reason}"
    text = verdict.reason + " " + " ".join(c.message for c in verdict.cases)
    assert words in text, f"{name}: {text}"
    assert elapsed <= limit + 1.0, f"{name} took {elapsed:.2f} s"
    json.loads(verdict.to_json())  # always a valid verdict
    assert str(render(verdict))


def test_escape_codes_and_lone_surrogates_cannot_break_the_terminal(verdicts):
    verdict, _, _ = verdicts["unprintable_error"]
    verdict.to_json().encode("utf-8")
    assert "\x1b" not in str(render(verdict))


def test_nothing_started_by_an_answer_is_left_running(verdicts):
    assert sleepers() == []


def test_a_pickle_in_place_of_a_result_is_never_unpickled(verdicts):
    assert not PICKLE_MARKER.exists()


def test_the_child_sees_a_minimal_limited_offline_environment(verdicts):
    verdict, _, _ = verdicts["probe_environment"]
    line = next(line for line in verdict.cases[0].output.splitlines() if line.startswith("PROBE "))
    probe = json.loads(line[len("PROBE "):])
    assert set(probe["environ"]) <= {
        "HOME", "PATH", "LC_ALL", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", sandbox.TOKEN_VARIABLE
    }  # fmt: skip
    assert probe["home"] == probe["cwd"] and "studycli-grade-" in probe["cwd"]
    assert probe["as"] == [2 << 30, 2 << 30]
    assert probe["cpu"][0] < probe["cpu"][1]
    assert probe["fsize"] == [16 << 20, 16 << 20] and probe["core"] == [0, 0]
    assert probe["stdin"] == ""
    if verdict.details["sandbox"] == sandbox.NAMESPACES:
        assert probe["network"].startswith("offline")


def test_the_work_directory_is_removed(verdicts):
    verdict, _, _ = verdicts["probe_environment"]
    line = next(line for line in verdict.cases[0].output.splitlines() if line.startswith("PROBE "))
    assert not Path(json.loads(line[len("PROBE "):])["cwd"]).exists()


def test_feedback_of_a_crash_names_the_learners_line_only(verdicts):
    verdict, _, _ = verdicts["segfault"]
    assert "segfault.py" in verdict.traceback and "line 5" in verdict.traceback
    assert "harness" not in verdict.traceback and "runner" not in verdict.traceback


def test_feedback_of_a_flood_shows_only_a_little_output(verdicts):
    verdict, _, _ = verdicts["flood_output"]
    assert 0 < len(verdict.output) <= 600
    assert "spam" in verdict.output and "output cut" in verdict.output
    assert len(str(render(verdict))) < 2000


def test_a_timeout_says_which_case_never_finished(verdicts):
    verdict, _, _ = verdicts["endless_loop"]
    assert "case 1 (a vector of logits)" in verdict.reason
    assert verdict.cases[0].status == "timeout"


@pytest.mark.parametrize("name", ["child_processes", "double_fork"])
def test_process_group_fallback_also_leaves_nothing_running(name):
    verdict = run(name, isolation=sandbox.PROCESS_GROUP)[1]
    assert verdict.status == EXPECTED[name][0]
    assert verdict.details["sandbox"] == sandbox.PROCESS_GROUP and "not offline" in verdict.details["sandbox_note"]
    assert verdict.details["strays_killed"] >= 1
    assert sleepers() == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["endless_loop", "endless_c_call", "huge_allocation", "segfault", "flood_output", "os_exit"])
def test_process_group_fallback_verdicts(name):
    verdict, elapsed, limit = run(name, isolation=sandbox.PROCESS_GROUP)[1:]
    assert verdict.status == EXPECTED[name][0], verdict.reason
    assert elapsed <= limit + 1.0


def test_the_sandbox_report_says_which_isolation_is_used():
    mode, _ = sandbox.isolation()
    report = sandbox.report()
    assert ("namespaces" in report) == (mode == sandbox.NAMESPACES)
    assert "fallback" in report or mode == sandbox.NAMESPACES
