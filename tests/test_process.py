"""The installed `study` in real processes: killed mid-session, two at once, start-up imports."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import DECKS, FIXTURES


def study_env(db) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STUDYCLI_")}
    env.update(STUDYCLI_DB=str(db), STUDYCLI_TODAY="2026-03-01", NO_COLOR="1", STUDYCLI_CONTENT=str(DECKS))
    return env


def study(*args: str) -> list[str]:
    return [sys.executable, "-m", "studycli", *args]


def count(db, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchone()[0]


def reviews_logged(db) -> int:
    """Reviews in the database, or -1 while it is still being created."""
    try:
        return count(db, "SELECT count(*) FROM reviews") if db.exists() else -1
    except sqlite3.Error:
        return -1


def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_sigkill_mid_session_loses_no_answer(tmp_path):
    db = tmp_path / "study.db"
    proc = subprocess.Popen(study("review", "--type", "basic", "--new", "3"), stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=study_env(db), text=True)
    proc.stdin.write("\n5\n")
    proc.stdin.flush()
    wait_for(lambda: reviews_logged(db) == 1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT repetitions, interval FROM card_states WHERE card_id IN "
                            "(SELECT card_id FROM reviews)").fetchall() == [(1, 1)]


def test_two_sessions_on_one_database_at_once(tmp_path):
    db = tmp_path / "study.db"
    subprocess.run(study("stats"), env=study_env(db), check=True, capture_output=True)
    procs = [subprocess.Popen(study("review", "--type", "basic", "--new", "5"), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=study_env(db), text=True)
             for _ in range(2)]
    outs = [p.communicate("\n5\n" * 5, timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    # Both saw the same new cards unless one started after the other had used up the daily limit;
    # either way, every answer either session reports is in the database.
    answered = [int(re.search(r"answered (\d+) card", out).group(1)) if "answered" in out else 0 for out, _ in outs]
    assert 5 <= sum(answered) <= 10
    assert count(db, "SELECT count(*) FROM reviews WHERE scheduled = 1") == sum(answered)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_importing_the_cli_loads_neither_sqlmodel_nor_numpy():
    code = "import sys, studycli.cli, studycli.practice; print(sorted(m for m in ('sqlmodel', 'sqlalchemy', 'numpy', 'pydantic') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_runs_as_a_script():
    result = subprocess.run(study("--help"), capture_output=True, text=True)
    assert result.returncode == 0 and "review" in result.stdout


def test_stats_of_a_current_database_loads_no_orm(tmp_path):
    """`study stats` reads a current, synced database with plain sqlite3: SQLAlchemy stays unloaded."""
    db = tmp_path / "study.db"
    env = study_env(db)
    subprocess.run(study("stats"), env=env, check=True, capture_output=True)   # creates and syncs
    code = ("import sys; from studycli.cli import main\n"
            "try:\n    main(['stats', '--json'])\nexcept SystemExit:\n    pass\n"
            "print('LOADED', 'sqlalchemy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("LOADED False")
    assert '"reviews_total": 0' in out


def test_check_without_recording_loads_no_orm(tmp_path):
    """`study check --no-record` on a current database grades without loading SQLAlchemy."""
    db = tmp_path / "study.db"
    env = study_env(db)
    env["STUDYCLI_CONTENT"] = str(FIXTURES / "code-decks")
    answer = tmp_path / "softmax.py"
    answer.write_text("import numpy as np\n\ndef softmax(x, axis=-1):\n"
                      "    e = np.exp(x - x.max(axis=axis, keepdims=True))\n    return e / e.sum(axis=axis, keepdims=True)\n")
    subprocess.run(study("stats"), env=env, check=True, capture_output=True)   # creates and syncs
    code = ("import sys; from studycli.cli import main\n"
            f"try:\n    main(['check', 'k-softmax', {str(answer)!r}, '--no-record', '--json'])\n"
            "except SystemExit as exc:\n    print('EXIT', exc.code)\n"
            "print('LOADED', 'sqlalchemy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert '"status": "pass"' in out and out.strip().endswith("LOADED False")
