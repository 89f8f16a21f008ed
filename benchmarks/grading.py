"""How long grading takes: one `study check` of a correct softmax, end to end, and its parts.

    python benchmarks/grading.py [--rounds 7]

Each measurement runs in a fresh process, as a learner's command would, and the medians are
printed. All rows are measured interleaved in one run, so a busy moment hits every row alike:

- child start-up: `python -I -B -c "import numpy"` with the grader's environment, bare and
  inside the namespaces the grader uses (unshare), i.e. the fixed cost of the grading child;
- grade() with every layer, then with one layer off at a time (STUDYCLI_SANDBOX_OFF, or
  STUDYCLI_SANDBOX=process-group for the namespaces, STUDYCLI_SANDBOX=none for no wall at
  all): the difference of the medians is what that layer costs;
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
    "grade(), no namespaces": {"STUDYCLI_SANDBOX": "process-group"},
    "grade(), no wall (unsafe)": {"STUDYCLI_SANDBOX": "none", "STUDYCLI_UNSAFE_GRADING": "1"},
}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds

    sys.path.insert(0, str(REPO))
    from studycli.grading import sandbox

    mode, prefix = sandbox.isolation()
    child = [sys.executable, "-I", "-B", "-c", "import numpy"]
    grade_only = [sys.executable, "-c", f"from studycli.grading import grade; assert grade('softmax', {str(ANSWER)!r}).passed"]
    card = softmax_card_id()
    rows = {"child start-up (python -I + numpy)": [], f"child start-up in {mode}": [], **{name: [] for name in LAYER_ROWS},
            "study check --no-record": [], "study check (end to end)": []}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        # An installed package has its bytecode cached: measure that, not a compile on every run.
        env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYCLI_SANDBOX") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(STUDYCLI_DB=str(Path(tmp) / "bench.db"), PYTHONPATH=str(REPO))
        check = [sys.executable, "-m", "studycli", "check", card, str(ANSWER)]
        wall([*check, "--no-record"], env=env, cwd=REPO)  # warm the file cache and create the database once
        wall(grade_only, env={**env, "STUDYCLI_SANDBOX": "none", "STUDYCLI_UNSAFE_GRADING": "1"}, cwd=REPO)
        for _ in range(rounds):  # interleaved, so a busy moment hits every row alike
            rows["child start-up (python -I + numpy)"].append(wall(child, env={**CHILD_ENV, "HOME": tmp}))
            if prefix:
                rows[f"child start-up in {mode}"].append(wall([*prefix, *child], env={**CHILD_ENV, "HOME": tmp}))
            for name, off in LAYER_ROWS.items():
                rows[name].append(wall(grade_only, env={**env, **off}, cwd=REPO))
            rows["study check --no-record"].append(wall([*check, "--no-record"], env=env, cwd=REPO))
            rows["study check (end to end)"].append(wall(check, env=env, cwd=REPO))

    print(f"grading benchmark: median of {rounds} rounds, sandbox: {mode}, layers: {', '.join(k for k, v in sandbox.layers().items() if v)}")
    print(f"{'':40} {'median':>9} {'min':>9}")
    for name, times in rows.items():
        if times:
            print(f"{name:40} {statistics.median(times):8.3f}s {min(times):8.3f}s")
    every = statistics.median(rows["grade(), every layer"])
    print("cost of each layer (median with it - median without it):")
    for name in list(LAYER_ROWS)[1:]:
        print(f"  {name.removeprefix('grade(), no '):38} {1000 * (every - statistics.median(rows[name])):+7.0f} ms")
    end_to_end = statistics.median(rows["study check (end to end)"])
    verdict = "within" if end_to_end <= TARGET_S else "OVER"
    print(f"study check: {end_to_end:.3f} s, {verdict} the {TARGET_S} s target")


if __name__ == "__main__":
    main()
