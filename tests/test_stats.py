"""`study stats`: a history built over simulated days, every reported number recounted by hand."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import date, timedelta
from functools import partial

import pytest

from studycli import scheduler, stats
from studycli.scheduler import SM2State

TODAY = date(2026, 4, 1)
START = TODAY - timedelta(days=95)
FORCED_DAYS = {TODAY - timedelta(days=n) for n in (84, 83, 30, 29, 1, 0)}   # the windows' edges


def write_deck(folder, topic: str, n_basic: int, n_code: int) -> list[str]:
    lines = [f"topic: {topic}", f"title: {topic}", "cards:"]
    ids = []
    for i in range(n_basic):
        ids.append(f"{topic}-b{i}")
        lines += [f"  - id: {topic}-b{i}", "    type: basic", f"    front: Question {topic} {i}?", f"    back: Answer {i}."]
    for i in range(n_code):
        ids.append(f"{topic}-k{i}")
        lines += [f"  - id: {topic}-k{i}", "    type: code", f"    prompt: Write softmax {i}.", "    check: softmax"]
    (folder / f"{topic}.yaml").write_text("\n".join(lines) + "\n")
    return ids


class Ledger:
    """The test's own account of what happened: states, lapses, every logged answer, submissions."""

    def __init__(self, card_topics: dict[str, str]):
        self.topic = dict(card_topics)
        self.state = {card: SM2State() for card in card_topics}
        self.lapses = Counter()
        self.log: list[tuple[str, date, int, str]] = []          # (card, day, quality, mode)
        self.passed_checks: set[str] = set()

    def answer(self, store, card: str, quality: int, day: date, mode: str, reschedule) -> None:
        before = self.state[card]
        if reschedule is not None:
            if quality < 3 and before.due is not None:
                self.lapses[card] += 1
            self.state[card] = reschedule(before)
        self.log.append((card, day, quality, mode))
        with store.transaction() as tx:
            before = tx.state(card)
            tx.record(card, quality, before, reschedule(before) if reschedule else None, day=day, mode=mode)


def missed_in_exam(state: SM2State, today: date) -> SM2State:
    # Written out again here, from the rule: due today and starting over, unless already due;
    # a miss of a card studied before is a lapse.
    lapses = state.lapses + (state.due is not None)
    if state.due is not None and state.due <= today:
        return SM2State(state.ef, state.repetitions, state.interval, state.due, lapses)
    return SM2State(state.ef, 0, 0, today, lapses)


@pytest.fixture
def simulated(study_env, tmp_path, monkeypatch):
    from studycli import session
    from studycli.store import Submission

    decks = tmp_path / "decks"
    decks.mkdir()
    topics = {"alpha": (9, 2), "beta": (7, 1), "gamma": (5, 0)}
    cards = {}
    for topic, (n_basic, n_code) in topics.items():
        cards.update({cid: topic for cid in write_deck(decks, topic, n_basic, n_code)})
    retired_deck = write_deck(decks, "omega", 2, 0)
    monkeypatch.setenv("STUDYCLI_CONTENT", str(decks))
    monkeypatch.setenv("STUDYCLI_TODAY", TODAY.isoformat())
    store, catalog = session.open_study()
    fixture_cards = {cid: catalog.topic(cid) for cid in catalog if cid not in cards and cid not in retired_deck}
    ledger = Ledger({**cards, **fixture_cards, **{cid: "omega" for cid in retired_deck}})

    rng = random.Random(2026)
    studyable = sorted(cards) + retired_deck
    easy = set(rng.sample(sorted(cards), 8))                 # these always get 5: they mature
    day = START
    while day <= TODAY:
        if day in FORCED_DAYS or rng.random() < 0.55:
            due = [c for c in studyable if ledger.state[c].due is not None and ledger.state[c].due <= day]
            fresh = [c for c in studyable if ledger.state[c].due is None][: rng.randrange(0, 3)]
            if day == TODAY:                                  # half of today's cards are still to do
                due = due[::2]
            for card in due + fresh:
                quality = 5 if card in easy else rng.choice([1, 2, 3, 4, 4, 5])
                ledger.answer(store, card, quality, day, "review",
                              partial(scheduler.review, quality=quality, today=day))
                if quality < 4 and rng.random() < 0.7:         # a same-day repeat: logged, SM-2 untouched
                    ledger.answer(store, card, 4, day, "repeat", None)
            if rng.random() < 0.15:                           # a mock exam: one hit, one miss
                hit, miss = rng.sample(studyable, 2)
                ledger.answer(store, hit, 4, day, "exam", None)
                ledger.answer(store, miss, 1, day, "exam", partial(missed_in_exam, today=day))
        day += timedelta(days=1)
    for card, status in [("alpha-k0", "fail"), ("alpha-k0", "pass"), ("alpha-k0", "pass"), ("alpha-k1", "error"),
                         ("beta-k0", "pass"), ("omega-b0", "pass")]:
        store.add_submission(Submission(card_id=card, check_name="softmax", submitted_at=f"{TODAY}T09:00:00+00:00",
                                        study_day=TODAY, status=status, code="...", verdict="{}"))
        if status == "pass":
            ledger.passed_checks.add(card)
    (decks / "omega.yaml").unlink()                           # omega is retired; its history stays
    store.close()
    return ledger


def expected_report(ledger: Ledger) -> dict:
    active = {c: t for c, t in ledger.topic.items() if t != "omega"}
    since = TODAY - timedelta(days=29)
    topics = {}
    for topic in sorted(set(active.values())):
        mine = [c for c, t in active.items() if t == topic]
        states = [ledger.state[c] for c in mine]
        reviewed = [s for s in states if s.due is not None]
        window = [q for c, d, q, mode in ledger.log
                  if active.get(c) == topic and since <= d <= TODAY and mode != "repeat"]
        code = [c for c in mine if "-k" in c]
        topics[topic] = {
            "cards": len(mine),
            "new": sum(s.due is None for s in states),
            "learning": sum(s.due is not None and s.interval < 21 for s in states),
            "mature": sum(s.due is not None and s.interval >= 21 for s in states),
            "due_today": sum(s.due is not None and s.due <= TODAY for s in states),
            "reviews_30d": len(window),
            "passed_30d": sum(q >= 3 for q in window),
            "retention": round(sum(q >= 3 for q in window) / len(window), 4) if window else None,
            "average_ef": round(sum(s.ef for s in reviewed) / len(reviewed), 4) if reviewed else None,
            "code_cards": len(code),
            "code_passed": len(set(code) & ledger.passed_checks),
        }
    return topics


def test_every_number_matches_an_independent_count(run, simulated):
    ledger = simulated
    report = json.loads(run("stats --json").stdout)
    want_topics = expected_report(ledger)
    assert report["topics"] == want_topics

    # The first issue's keys keep their meaning.
    assert report["today"] == TODAY.isoformat()
    assert report["cards"] == sum(t["cards"] for t in want_topics.values())
    assert report["new"] == sum(t["new"] for t in want_topics.values())
    assert report["due_today"] == sum(t["due_today"] for t in want_topics.values())
    assert report["reviews_today"] == sum(d == TODAY for _, d, _, _ in ledger.log)
    assert report["reviews_total"] == len(ledger.log)       # retired cards' answers count here
    assert report["by_topic"] == {t: {k: v[k] for k in ("cards", "new", "due_today")} for t, v in want_topics.items()}

    totals = report["totals"]
    for key in ("cards", "new", "learning", "mature", "due_today", "reviews_30d", "passed_30d", "code_cards",
                "code_passed"):
        assert totals[key] == sum(t[key] for t in want_topics.values()), key
    assert totals["retention"] == round(totals["passed_30d"] / totals["reviews_30d"], 4)
    reviewed = [ledger.state[c] for c, t in ledger.topic.items() if t != "omega" and ledger.state[c].due is not None]
    assert totals["average_ef"] == round(sum(s.ef for s in reviewed) / len(reviewed), 4)
    # The simulation reached every kind of card, so none of these checks is vacuous.
    assert totals["new"] and totals["learning"] and totals["mature"] and totals["due_today"] and totals["code_passed"]

    # Streak: walk back from today over the days that have any answer.
    days = {d for _, d, _, _ in ledger.log}
    current, day = 0, TODAY
    while day in days:
        current, day = current + 1, day - timedelta(days=1)
    longest = 0
    for first in (d for d in days if d - timedelta(days=1) not in days):     # the start of each run
        n = 0
        while first + timedelta(days=n) in days:
            n += 1
        longest = max(longest, n)
    assert report["streak"] == {"current": current, "longest": longest, "studied_today": TODAY in days}
    assert current >= 2                                      # today and yesterday were forced

    per_day = Counter(d for _, d, _, _ in ledger.log)
    heat = report["heatmap"]
    assert len(heat) == 84 and heat[0]["day"] == (TODAY - timedelta(days=83)).isoformat()
    assert heat[-1]["day"] == TODAY.isoformat()
    assert {h["day"]: h["reviews"] for h in heat} == {
        (TODAY - timedelta(days=n)).isoformat(): per_day[TODAY - timedelta(days=n)] for n in range(84)}
    assert per_day[TODAY - timedelta(days=84)] > 0           # just outside: left out above

    due_on = Counter(max(s.due, TODAY) for c, s in ledger.state.items()
                     if ledger.topic[c] != "omega" and s.due is not None)
    forecast = report["forecast"]
    assert [f["day"] for f in forecast] == [(TODAY + timedelta(days=n)).isoformat() for n in range(30)]
    assert [f["due"] for f in forecast] == [due_on[TODAY + timedelta(days=n)] for n in range(30)]
    assert forecast[0]["due"] == report["due_today"]

    weak = sorted((c for c, t in ledger.topic.items() if t != "omega" and ledger.state[c].due is not None
                   and (ledger.state[c].ef < 2.5 or ledger.lapses[c] > 0)),
                  key=lambda c: (ledger.state[c].ef, -ledger.lapses[c], c))[:10]
    assert len(weak) == 10 and [w["id"] for w in report["weakest"]] == weak
    assert [(w["ef"], w["lapses"], w["interval"]) for w in report["weakest"]] == [
        (round(ledger.state[c].ef, 4), ledger.lapses[c], ledger.state[c].interval) for c in weak]
    assert all(w["text"].startswith(("Question ", "Write softmax")) for w in report["weakest"])


def test_the_table_shows_the_same_numbers(run, simulated):
    report = json.loads(run("stats --json").stdout)
    text = run("stats").stdout
    totals = report["totals"]
    total_line = next(line for line in text.splitlines() if line.strip().startswith("total"))
    assert total_line.split()[1:6] == [str(totals[k]) for k in ("cards", "new", "learning", "mature", "due_today")]
    assert f"{totals['code_passed']}/{totals['code_cards']}" in total_line
    assert f"streak {report['streak']['current']} day(s)" in text
    assert "reviews per day" in text and "due per day" in text and "weakest cards" in text
    assert report["weakest"][0]["id"] in text


def test_streak_rules():
    d = date(2026, 3, 10)
    days = [d - timedelta(days=n) for n in (9, 8, 7, 3, 2, 1)]
    assert stats.streak(days, d) == {"current": 3, "longest": 3, "studied_today": False}   # ends yesterday
    assert stats.streak(days + [d], d) == {"current": 4, "longest": 4, "studied_today": True}
    assert stats.streak(days[:3], d) == {"current": 0, "longest": 3, "studied_today": False}
    assert stats.streak([], d) == {"current": 0, "longest": 0, "studied_today": False}


def test_an_empty_database(run):
    report = json.loads(run("stats --json").stdout)
    assert report["totals"]["retention"] is None and report["totals"]["average_ef"] is None
    assert report["streak"]["current"] == 0 and report["weakest"] == []
    assert sum(h["reviews"] for h in report["heatmap"]) == 0
    text = run("stats").stdout
    assert "nothing due in the next 30 days" in text


@pytest.mark.slow
def test_fast_on_ten_thousand_cards_and_a_hundred_thousand_reviews(tmp_path):
    """report() itself, without imports or the deck sync: a small share of the 0.45 s budget."""
    import sqlite3

    from studycli.store import Store

    Store.open(tmp_path / "big.db").close()   # an empty, migrated database to fill
    rng = random.Random(0)
    with sqlite3.connect(tmp_path / "big.db") as conn:
        conn.executemany("INSERT INTO cards VALUES (?, ?, 'basic', ?, 'h', ?, 0, 'now', 'now')",
                         [(f"c{i}", f"t{i % 20}", json.dumps({"id": f"c{i}", "type": "basic", "front": "Q?",
                                                              "back": "A.", "topic": f"t{i % 20}"}), i)
                          for i in range(10_000)])
        conn.executemany("INSERT INTO card_states (card_id, ef, repetitions, interval, due, lapses) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         [(f"c{i}", 1.3 + rng.random() * 1.5, 2, rng.randrange(1, 60),
                           (TODAY + timedelta(days=rng.randrange(-5, 60))).isoformat() if i % 2 else None,
                           rng.randrange(3)) for i in range(10_000)])
        conn.executemany(
            "INSERT INTO reviews (card_id, reviewed_at, study_day, quality, mode, scheduled, ef_before, "
            "repetitions_before, interval_before, lapses_before, ef_after, repetitions_after, interval_after) "
            "VALUES (?, 'now', ?, ?, 'review', 1, 2.5, 0, 0, 0, 2.5, 1, 1)",
            [(f"c{rng.randrange(10_000)}", (TODAY - timedelta(days=rng.randrange(365))).isoformat(), rng.randrange(6))
             for _ in range(100_000)])
    from studycli import dbfile

    with dbfile.reader(tmp_path / "big.db") as reader:
        best = min(_timed(lambda: stats.report(reader, TODAY)) for _ in range(3))
    assert best < 0.25, best


def _timed(fn) -> float:
    import time

    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
