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
SLEEPER_MARKERS = ("271.8281", "271.8282", "271.8283", "314.1592")  # argv of the processes the answers start

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
    "scratch_bytes": ("error", "wrote more than the 64 MiB its scratch folder may hold"),
    "scratch_files": ("error", "made more than the 10,000 files and folders its scratch folder may hold"),
}
SCRATCH_HOGS = ("scratch_bytes", "scratch_files")


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
    if name == "double_fork":  # the daemon left the process group: only the hunt for strays finds it
        assert verdict.details["strays_killed"] >= 1  # (the sleepers of child_processes die with the group)
    assert sleepers() == []


@pytest.mark.slow
@pytest.mark.parametrize("name", ["endless_loop", "endless_c_call", "huge_allocation", "segfault", "flood_output", "os_exit"])
def test_process_group_fallback_verdicts(name):
    verdict, elapsed, limit = run(name, isolation=sandbox.PROCESS_GROUP)[1:]
    assert verdict.status == EXPECTED[name][0], verdict.reason
    assert elapsed <= limit + 1.0


def probed_folder(verdict) -> Path:
    """The working directory an answer printed as `PROBE <cwd>`."""
    line = next(line for line in verdict.output.splitlines() if line.startswith("PROBE "))
    return Path(line[len("PROBE "):])


@pytest.mark.parametrize("name", SCRATCH_HOGS)
def test_scratch_hogs_leave_nothing_behind(name, verdicts):
    """200 MB in many files, or 100,000 files: in a tmpfs of 64 MiB and 10,000 inodes, which
    vanishes with the check's mount namespace (or, in the fallback, a folder counted and removed)."""
    verdict, _, _ = verdicts[name]
    scratch = probed_folder(verdict)
    assert scratch.name == "scratch" and scratch.parent.name.startswith("studycli-grade-")
    assert not scratch.parent.exists()
    if verdict.details["sandbox"] == sandbox.NAMESPACES:
        assert verdict.details["scratch"] == "tmpfs"


@pytest.mark.parametrize("name", SCRATCH_HOGS)
def test_process_group_fallback_counts_the_scratch_folder(name):
    """Without a mount namespace the parent counts the folder while the child runs and ends the
    check past the caps: the same verdict, in time, and the folder removed."""
    verdict, elapsed, limit = run(name, isolation=sandbox.PROCESS_GROUP)[1:]
    status, words = EXPECTED[name]
    assert verdict.status == status and words in verdict.reason, verdict.reason
    assert verdict.details["scratch"] == "folder"
    assert elapsed <= limit + 1.0, f"{name} took {elapsed:.2f} s"
    assert not probed_folder(verdict).parent.exists()
    assert sleepers() == []


def test_a_burst_between_two_counts_is_caught_by_the_last_one(monkeypatch):
    """The folder is counted once more when the child has ended: 200 MB written and left there
    between two counts (here: no count while it runs) still gets the scratch verdict."""
    from studycli.grading import runner

    monkeypatch.setattr(runner, "SCRATCH_POLL_S", 60.0)
    verdict = grade("softmax", HOSTILE / "scratch_bytes.py", timeout_s=LIMIT_S, seed=11, isolation=sandbox.PROCESS_GROUP)
    assert verdict.status == "error" and EXPECTED["scratch_bytes"][1] in verdict.reason, verdict.reason
    assert not probed_folder(verdict).parent.exists()


@pytest.mark.parametrize("name", ["correct", "scratch_files"])
def test_a_tmpfs_the_grader_cannot_reach_is_unmounted_and_the_folder_counted(name, monkeypatch):
    """Where /proc/PID/root is closed to the grader, the child drops its tmpfs before the answer
    runs, and the parent counts the folder as in the fallback."""
    from studycli.grading import runner

    if sandbox.isolation()[0] != sandbox.NAMESPACES:
        pytest.skip("no namespaces here")
    monkeypatch.setattr(runner._Child, "scratch_seen_by_child", lambda self: "/nonexistent/scratch")
    answer = HOSTILE.parent / "softmax" / "correct.py" if name == "correct" else HOSTILE / f"{name}.py"
    verdict = grade("softmax", answer, timeout_s=LIMIT_S, seed=11)
    assert verdict.details["scratch"] == "folder"
    assert verdict.status == ("pass" if name == "correct" else "error"), verdict.reason
    if name != "correct":
        assert "10,000 files" in verdict.reason and not probed_folder(verdict).parent.exists()


def test_the_sandbox_report_says_which_isolation_is_used():
    mode, _ = sandbox.isolation()
    report = sandbox.report()
    assert ("namespaces" in report) == (mode == sandbox.NAMESPACES)
    assert "fallback" in report or mode == sandbox.NAMESPACES


# Probes of issue 12: an answer tries to leave its box. Each probe answer tries its attack at
# import time and reports, in the message of the exception its softmax raises, which attempts
# were "blocked" and which "ESCAPED". The probes run in both modes: with namespaces and in the
# process-group fallback (Landlock, seccomp and cgroups without namespaces).

PROBES = Path(__file__).parent / "answers" / "hostile" / "probes"
PROBE_EXPECTED = {
    "plant_installed": ("error", "PROBE blocked"),
    "read_user_files": ("error", "PROBE blocked"),
    "database_folder": ("error", "PROBE blocked"),
    "unix_socket": ("error", "PROBE blocked"),
    "write_outside": ("error", "PROBE blocked"),
    "fork_many": ("error", "PROBE blocked"),
    "deep_tree": ("pass", "all 10 cases pass"),
    "forge_events": ("error", "the answer interfered with the grader"),
    "unmount_proc": ("error", "PROBE blocked umount"),
    "signal_everyone": ("error", "PROBE blocked"),
    "read_grader_memory": ("error", "PROBE blocked"),
    "engine_partial": ("error", "the engine's own"),
    "engine_closure": ("error", "the engine's own"),
    "engine_lambda": ("error", "the engine's own"),
    "engine_alias": ("error", "the engine's own"),
    "engine_bound": ("error", "the engine's own"),
    "engine_runtime": ("error", "imports the engine"),
}
MODES = (sandbox.NAMESPACES, sandbox.PROCESS_GROUP)
INSTALLED = [Path(sandbox.__file__).with_name(n) for n in ("feedback.py", "runner.py", "harness.py", "confine.py")]


def user_files(root: Path) -> dict:
    """A learner's files the answers go after: a key in a home folder, a database and its siblings."""
    import sqlite3

    (root / "home" / ".ssh").mkdir(parents=True)
    (root / "home" / ".ssh" / "id_ed25519").write_text("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    (root / "data").mkdir()
    with sqlite3.connect(root / "data" / "study.db") as conn:
        conn.execute("CREATE TABLE reviews (id INTEGER)")
    (root / "data" / "study.db-wal").write_bytes(b"")
    (root / "data" / "settings.json").write_text('{"new-per-day": 10}')
    return snapshot(root)


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*")) if not p.is_socket()}


def probe_answer(name: str, root: Path, mode: str) -> Path:
    text = (PROBES / f"{name}.py").read_text()
    for key, value in {
        "{{ROOT}}": str(root), "{{REAL_HOME}}": str(Path.home()), "{{GRADER_PID}}": str(os.getpid()),
        "{{INSTALLED}}": repr([str(p) for p in INSTALLED]), "{{TOKEN}}": f"{os.getpid()}-{mode}",
    }.items():  # fmt: skip
        text = text.replace(key, value)
    answer = root / "answers" / mode / f"{name}.py"
    answer.parent.mkdir(parents=True, exist_ok=True)
    answer.write_text(text)
    return answer


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    import socket

    if not sandbox.layers()["landlock"]:
        pytest.skip("no Landlock on this kernel: grading refuses (see test_grading_refuses_without_walls)")
    root = tmp_path_factory.mktemp("user")
    before = user_files(root)
    installed = {p: p.read_bytes() for p in INSTALLED}
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "agent.sock"))
    server.listen(4)
    server.setblocking(False)
    jobs = [(name, mode) for mode in MODES for name in PROBE_EXPECTED]
    answers = {job: probe_answer(job[0], root, job[1]) for job in jobs}

    def one(job):
        started = time.monotonic()
        verdict = grade("softmax", answers[job], timeout_s=LIMIT_S, seed=11, isolation=job[1])
        return job, verdict, time.monotonic() - started

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = {job: (verdict, elapsed) for job, verdict, elapsed in pool.map(one, jobs)}
    try:
        server.accept()
        connected = True
    except BlockingIOError:
        connected = False
    server.close()
    (root / "agent.sock").unlink()
    for mode in MODES:
        for path in (Path(f"/tmp/studycli-probe-{os.getpid()}-{mode}.bin"), Path(f"/dev/shm/studycli-probe-{os.getpid()}-{mode}.bin")):
            path.unlink(missing_ok=True)
    after = {k: v for k, v in snapshot(root).items() if not k.startswith("answers")}
    return {"verdicts": results, "before": before, "after": after, "connected": connected, "installed": installed, "root": root}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(PROBE_EXPECTED))
def test_probe_is_stopped(name, mode, probed):
    if mode == sandbox.NAMESPACES and sandbox.isolation()[0] != sandbox.NAMESPACES:
        pytest.skip("no namespaces here")
    verdict, elapsed = probed["verdicts"][(name, mode)]
    status, words = PROBE_EXPECTED[name]
    text = verdict.reason + " " + " ".join(c.message for c in verdict.cases)
    assert "ESCAPED" not in text + verdict.output, f"{name} ({mode}): {text} {verdict.output}"
    assert verdict.status == status, f"{name} ({mode}): {verdict.status}: {verdict.reason}"
    assert words in text, f"{name} ({mode}): {text}"
    assert elapsed <= LIMIT_S + 1.0, f"{name} took {elapsed:.2f} s"
    json.loads(verdict.to_json())
    assert str(render(verdict))


def test_probes_changed_nothing_outside(probed):
    assert probed["after"] == probed["before"]
    assert not probed["connected"]
    assert {p: p.read_bytes() for p in INSTALLED} == probed["installed"]
    assert not list(INSTALLED[0].parent.glob("__pycache__/planted*"))
    assert not list(Path("/tmp").glob(f"studycli-probe-{os.getpid()}-*"))
    assert sleepers() == []


def test_a_deep_tree_left_in_the_work_directory_is_removed(tmp_path):
    answer = PROBES / "deep_tree.py"
    verdict = grade("softmax", answer, timeout_s=LIMIT_S, seed=11)
    assert verdict.status == "pass", verdict.reason


@pytest.mark.parametrize("mode", MODES)
def test_memory_is_capped_for_the_whole_check(mode, tmp_path):
    """Four processes of 700 MB each stay under the per-process limit; together they pass the
    check's cap (a memory cgroup) and the verdict is `memory`."""
    if not sandbox.cgroup_parents():
        pytest.skip("no cgroup can be made here: memory is capped per process only (see `study doctor`)")
    if mode == sandbox.NAMESPACES and sandbox.isolation()[0] != sandbox.NAMESPACES:
        pytest.skip("no namespaces here")
    started = time.monotonic()
    limit = 2 * LIMIT_S      # 2.8 GB to fault in across four processes: slow on a busy machine
    verdict = grade("softmax", PROBES / "memory_across.py", timeout_s=limit, seed=11, isolation=mode)
    elapsed = time.monotonic() - started
    assert verdict.status == "memory", f"{verdict.reason} after {elapsed:.1f} s"
    assert elapsed <= limit + 1.0
    assert sleepers() == []


def test_processes_are_capped_without_a_cgroup(monkeypatch, tmp_path):
    """Without a cgroup, RLIMIT_NPROC inside the user namespace caps the check's processes."""
    if "--user" not in sandbox.isolation()[1]:
        pytest.skip("no user namespace here")
    if os.geteuid() == 0:
        pytest.skip("RLIMIT_NPROC never binds the host's root user (the kernel exempts it); root gets the pids cgroup")
    monkeypatch.setenv(sandbox.NO_CGROUP_VARIABLE, "1")
    verdict = grade("softmax", probe_answer("fork_many", tmp_path, "nocgroup"), timeout_s=LIMIT_S, seed=11)
    assert verdict.details["layers"] and "cgroup" not in verdict.details["layers"]
    assert "PROBE blocked" in verdict.cases[0].message, verdict.cases[0].message
    assert sleepers() == []


def test_grading_refuses_without_walls(monkeypatch):
    """With neither namespaces nor Landlock, learner code does not run unless the caller opts in."""
    from studycli.grading.runner import SandboxRefused

    monkeypatch.delenv(sandbox.UNSAFE_VARIABLE, raising=False)
    with pytest.raises(SandboxRefused, match="--unsafe"):
        grade("softmax", HOSTILE / "double_fork.py", timeout_s=LIMIT_S, isolation=sandbox.NONE)
    monkeypatch.setenv(sandbox.UNSAFE_VARIABLE, "1")
    verdict = grade("softmax", Path(__file__).parent / "answers" / "softmax" / "correct.py", timeout_s=LIMIT_S, isolation=sandbox.NONE)
    assert verdict.passed and "UNSAFE" in verdict.details["sandbox_note"]
    assert verdict.details["layers"] == []


def test_study_doctor_explains_every_layer():
    from studycli import doctor

    rows = doctor._sandbox()
    assert [name.strip() for name, _, _ in rows[1:]] == list(sandbox.layers())
    assert "tmpfs scratch" in rows[0][2] or sandbox.isolation()[0] != sandbox.NAMESPACES


def test_the_report_names_every_layer():
    report = sandbox.report()
    for layer in ("landlock", "seccomp", "cgroup", "namespace"):
        assert layer in report
    assert f"{FILE_SIZE_MIB} MiB" in report


FILE_SIZE_MIB = 16
