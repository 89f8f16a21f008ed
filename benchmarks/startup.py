"""Start-up cost of `study`: --help, the dashboard, stats, plan, and the time to the first card of a review.

Builds a database of 10,000 cards (extra generated decks beside the built-in one) and 100,000
logged reviews, then runs each command several times in interleaved rounds and prints the
median wall time. Usage: python benchmarks/startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

CARDS = 10_000
REVIEWS = 100_000
TARGETS = {"study --help": 0.15, "study": 0.5, "study stats": 0.45, "study plan": 0.5, "first card": 0.5}


def write_decks(folder: Path, n_cards: int) -> None:
    per_deck = 500
    for deck in range(n_cards // per_deck):
        lines = [f"topic: bench-{deck}", f"title: Bench {deck}", "cards:"]
        for i in range(per_deck):
            lines += [f"  - id: bench-{deck}-{i}", "    type: basic", f"    front: Question {deck}.{i}?",
                      f"    back: Answer {deck}.{i}.", "    explanation: Because."]
        (folder / f"bench-{deck}.yaml").write_text("\n".join(lines) + "\n")


def fill_reviews(db: Path, n_reviews: int, today: date) -> None:
    rng = random.Random(0)
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM cards")]
        rows = []
        for n in range(n_reviews):
            card = rng.choice(ids)
            day = today - timedelta(days=rng.randrange(365))
            q = rng.randrange(6)
            rows.append((card, f"{day}T12:00:00+00:00", day.isoformat(), q, "review", 1, 2.5, 0, 0, None, 0,
                         2.5, 1, 1, (day + timedelta(days=1)).isoformat(), 5000, None))
        conn.executemany(
            "INSERT INTO reviews (card_id, reviewed_at, study_day, quality, mode, scheduled, ef_before, "
            "repetitions_before, interval_before, due_before, lapses_before, ef_after, repetitions_after, "
            "interval_after, due_after, duration_ms, answer) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
        for card in ids[: len(ids) // 2]:
            due = today + timedelta(days=rng.randrange(-10, 60))
            conn.execute("UPDATE card_states SET repetitions=2, interval=6, due=? WHERE card_id=?", (due.isoformat(), card))


def timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def time_to_first_card(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    buffer = b""
    while b"card 1 of" not in buffer:
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            raise RuntimeError("review ended before showing a card")
        buffer += chunk
    elapsed = time.perf_counter() - start
    proc.kill()
    proc.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    study = str(Path(sys.executable).with_name("study"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "decks").mkdir()
        write_decks(tmp / "decks", CARDS)
        today = date(2026, 6, 1)
        env = {**os.environ, "STUDYCLI_DB": str(tmp / "study.db"), "STUDYCLI_CONTENT": str(tmp / "decks"),
               "STUDYCLI_TODAY": today.isoformat(), "NO_COLOR": "1"}
        subprocess.run([study, "stats"], env=env, check=True, stdout=subprocess.DEVNULL)   # first sync
        subprocess.run([study, "config", "exam-date", (today + timedelta(days=60)).isoformat()], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fill_reviews(tmp / "study.db", REVIEWS, today)
        with sqlite3.connect(tmp / "study.db") as conn:
            cards, reviews = (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("cards", "reviews"))
        runs: dict[str, list[float]] = {name: [] for name in TARGETS}
        for _ in range(args.rounds):
            runs["study --help"].append(timed([study, "--help"], env))
            runs["study"].append(timed([study], env))
            runs["study stats"].append(timed([study, "stats"], env))
            runs["study plan"].append(timed([study, "plan"], env))
            runs["first card"].append(time_to_first_card([study, "review"], env))
    print(f"database: {cards} cards, {reviews} reviews; {args.rounds} interleaved rounds\n")
    print(f"{'command':<14} {'median s':>9} {'min s':>7} {'target s':>9}  ok")
    for name, times in runs.items():
        median = statistics.median(times)
        print(f"{name:<14} {median:>9.3f} {min(times):>7.3f} {TARGETS[name]:>9.2f}  {'yes' if median <= TARGETS[name] else 'NO'}")


if __name__ == "__main__":
    main()
