"""How long grading takes: one `study check` of a correct softmax, end to end, and its parts,
before and after the changes being measured, side by side in one run.

    python benchmarks/grading.py [--rounds 7] [--baseline REV]

The baseline (default: where this branch left `main`, `git merge-base HEAD main`) is unpacked
with `git archive` into a temporary folder and imported from there (PYTHONPATH); "after" is this
working tree. Each measurement runs in a fresh process, as a learner's command would, and the
medians are printed. All rows of both trees are measured interleaved in one run, so a busy moment
hits every row alike:

- child start-up: `python -I -B -c "import numpy"` with the grader's environment, bare and
  inside the namespaces the grader uses (unshare), i.e. the fixed cost of the grading child;
- grade() with every layer, then with one layer off at a time (STUDYCLI_SANDBOX_OFF, or
  STUDYCLI_SANDBOX=process-group for the namespaces, STUDYCLI_SANDBOX=none for no wall at
  all): the difference of the medians is what that layer costs (a layer the baseline lacks
  changes nothing there);
- study check: `python -m studycli check CARD FILE` with a throwaway database, the whole
  command a learner runs (the submission stored and counted as a review), and the same with
  `--no-record` (nothing written, so the database layer is never loaded).

The target is 0.6 s for one `study check` (the recorded one is the learner's usual command).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANSWER = REPO / "tests" / "answers" / "softmax" / "correct.py"
TARGET_S = 0.6
CHILD_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
LAYER_ROWS = {  # row -> environment that turns layers off
    "grade(), every layer": {},
    "grade(), no landlock": {"STUDYCLI_SANDBOX_OFF": "landlock"},
    "grade(), no seccomp": {"STUDYCLI_SANDBOX_OFF": "seccomp"},
    "grade(), no cgroup": {"STUDYCLI_SANDBOX_OFF": "cgroup"},
    "grade(), no tmpfs scratch": {"STUDYCLI_SANDBOX_OFF": "tmpfs"},
    "grade(), no namespaces": {"STUDYCLI_SANDBOX": "process-group"},
    "grade(), no wall (unsafe)": {"STUDYCLI_SANDBOX": "none", "STUDYCLI_UNSAFE_GRADING": "1"},
}
CHECK_ROWS = ("study check --no-record", "study check (end to end)")


def wall(argv, env=None, cwd=None) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def softmax_card_id() -> str:
    """The id of the built-in code card whose check is softmax."""
    import yaml

    for deck in sorted((REPO / "content").glob("*.yaml")):
        for card in yaml.safe_load(deck.read_text()).get("cards", []):
            if card.get("type") == "code" and card.get("check") == "softmax":
                return card["id"]
    raise SystemExit("no code card with `check: softmax` in content/")


def git(*args) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True).stdout.strip()


def unpack(revision: str, folder: Path) -> str:
    """The packages and decks of `revision` in `folder`; returns the commit's short hash."""
    commit = git("rev-parse", "--short", revision)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "studycli", "engine", "content"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return commit


def default_baseline() -> str:
    try:
        return git("merge-base", "HEAD", "main")
    except subprocess.CalledProcessError:
        return "HEAD~1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", default=None, help="the git revision to compare with (default: the merge-base with main)")
    options = parser.parse_args()
    rounds = options.rounds

    sys.path.insert(0, str(REPO))
    from studycli.grading import sandbox

    mode, prefix = sandbox.isolation()
    child = [sys.executable, "-I", "-B", "-c", "import numpy"]
    grade_only = [sys.executable, "-c", f"from studycli.grading import grade; assert grade('softmax', {str(ANSWER)!r}).passed"]
    card = softmax_card_id()
    startup = {"child start-up (python -I + numpy)": [], f"child start-up in {mode}": []}
    rows = {(name, tree): [] for name in (*LAYER_ROWS, *CHECK_ROWS) for tree in ("before", "after")}
    with tempfile.TemporaryDirectory() as tmp:
        before = Path(tmp) / "before"
        before.mkdir()
        baseline = unpack(options.baseline or default_baseline(), before)
        # An installed package has its bytecode cached: measure that, not a compile on every run.
        base = {k: v for k, v in os.environ.items() if not k.startswith("STUDYCLI_SANDBOX") and k != "PYTHONDONTWRITEBYTECODE"}
        roots = {"before": before, "after": REPO}  # also the working directory: `python -c` and `-m` import from there first
        envs = {tree: {**base, "STUDYCLI_DB": str(Path(tmp) / f"{tree}.db"), "PYTHONPATH": str(root)} for tree, root in roots.items()}
        check = [sys.executable, "-m", "studycli", "check", card, str(ANSWER)]
        for tree, env in envs.items():  # warm the file cache, write the bytecode, create the databases
            where = subprocess.run([sys.executable, "-c", "import studycli; print(studycli.__file__)"], env=env, cwd=roots[tree], capture_output=True, text=True)
            assert where.stdout.startswith(str(roots[tree])), f"{tree} imports {where.stdout.strip()}"
            wall([*check, "--no-record"], env=env, cwd=roots[tree])
            wall(grade_only, env={**env, "STUDYCLI_SANDBOX": "none", "STUDYCLI_UNSAFE_GRADING": "1"}, cwd=roots[tree])
        for _ in range(rounds):  # interleaved, so a busy moment hits every row alike
            startup["child start-up (python -I + numpy)"].append(wall(child, env={**CHILD_ENV, "HOME": tmp}))
            if prefix:
                startup[f"child start-up in {mode}"].append(wall([*prefix, *child], env={**CHILD_ENV, "HOME": tmp}))
            for name, off in LAYER_ROWS.items():
                for tree, env in envs.items():
                    rows[name, tree].append(wall(grade_only, env={**env, **off}, cwd=roots[tree]))
            for tree, env in envs.items():
                rows["study check --no-record", tree].append(wall([*check, "--no-record"], env=env, cwd=roots[tree]))
                rows["study check (end to end)", tree].append(wall(check, env=env, cwd=roots[tree]))

    median = statistics.median
    print(f"grading benchmark: median of {rounds} rounds, sandbox: {mode}, layers: {', '.join(k for k, v in sandbox.layers().items() if v)}")
    print(f"before: {baseline} (git archive), after: this working tree")
    print(f"{'':40} {'before':>9} {'after':>9} {'change':>9}")
    for name, times in startup.items():
        if times:
            print(f"{name:40} {median(times):8.3f}s {median(times):8.3f}s {'':>9}")
    for name in (*LAYER_ROWS, *CHECK_ROWS):
        was, now = median(rows[name, "before"]), median(rows[name, "after"])
        print(f"{name:40} {was:8.3f}s {now:8.3f}s {1000 * (now - was):+7.0f}ms")
    print("cost of each layer (median with it - median without it):")
    for tree in ("before", "after"):
        every = median(rows["grade(), every layer", tree])
        costs = ", ".join(f"{name.removeprefix('grade(), no ')} {1000 * (every - median(rows[name, tree])):+.0f} ms" for name in list(LAYER_ROWS)[1:])
        print(f"  {tree:6} {costs}")
    end_to_end = median(rows["study check (end to end)", "after"])
    verdict = "within" if end_to_end <= TARGET_S else "OVER"
    print(f"study check: {median(rows['study check (end to end)', 'before']):.3f} s before, {end_to_end:.3f} s after, {verdict} the {TARGET_S} s target")


if __name__ == "__main__":
    main()
