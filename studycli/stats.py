"""Numbers about progress, computed from the store: the dashboard and `study stats`.

Everything is an SQL aggregate over the active cards and the review log, so the report stays
fast on 10,000 cards and 100,000 reviews; no card is parsed except the few weakest ones shown.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

from studycli.scheduler import FSRS_FIT_MIN_REVIEWS, PASSING_QUALITY   # retained: graded PASSING_QUALITY or more


MATURE_DAYS = 21          # an interval this long or longer counts as mature (as in Anki)
RETENTION_DAYS = 30       # retention looks at the answers of the last 30 days
HEATMAP_DAYS = 12 * 7     # the heatmap covers the last 12 weeks
FORECAST_DAYS = 30        # the forecast covers today and the next 29 days
WEAKEST = 10              # how many weak cards to list


TOPIC_COUNTS = """
SELECT c.topic,
       COUNT(*),
       SUM(s.due IS NULL),
       SUM(s.due IS NOT NULL AND s.interval < :mature),
       SUM(s.due IS NOT NULL AND s.interval >= :mature),
       SUM(s.due IS NOT NULL AND s.due <= :today),
       TOTAL(CASE WHEN s.due IS NOT NULL THEN s.ef END),
       SUM(c.type = 'code')
FROM cards c JOIN card_states s ON s.card_id = c.id
WHERE c.retired = 0
GROUP BY c.topic"""

# Same-day repeats are left out: the first answer of the day is the test of memory.
RETENTION = """
SELECT c.topic, COUNT(*), SUM(r.quality >= :passing)
FROM reviews r JOIN cards c ON c.id = r.card_id
WHERE c.retired = 0 AND r.study_day > :since AND r.study_day <= :today AND r.mode <> 'repeat'
GROUP BY c.topic"""

CODE_PASSED = """
SELECT c.topic, COUNT(DISTINCT s.card_id)
FROM submissions s JOIN cards c ON c.id = s.card_id
WHERE s.status = 'pass' AND c.retired = 0
GROUP BY c.topic"""

STUDY_DAYS = "SELECT DISTINCT study_day FROM reviews WHERE study_day <= :today ORDER BY study_day"

REVIEWS_PER_DAY = """
SELECT study_day, COUNT(*) FROM reviews
WHERE study_day > :since AND study_day <= :today
GROUP BY study_day"""

# Overdue cards are counted on today, where they will be asked.
FORECAST = """
SELECT MAX(s.due, :today), COUNT(*)
FROM card_states s JOIN cards c ON c.id = s.card_id
WHERE c.retired = 0 AND s.due IS NOT NULL AND s.due <= :until
GROUP BY MAX(s.due, :today)"""

WEAKEST_CARDS = """
SELECT c.id, c.topic, s.ef, s.lapses, s.interval, s.due, c.data
FROM card_states s JOIN cards c ON c.id = s.card_id
WHERE c.retired = 0 AND s.due IS NOT NULL AND (s.ef < 2.5 OR s.lapses > 0)
ORDER BY s.ef ASC, s.lapses DESC, c.id
LIMIT :limit"""


REVIEW_COUNTS = "SELECT SUM(study_day = :today), COUNT(*) FROM reviews"
# Cards whose first scheduled review was today: what the daily new-card limit counts.
NEW_TODAY = """
SELECT COUNT(*) FROM reviews
WHERE study_day = :today AND scheduled AND repetitions_before = 0 AND due_before IS NULL"""


def _rows(conn, sql: str, params: dict) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def _summary(today: date, topic_rows: list[tuple], review_counts: tuple) -> dict:
    """The dashboard's numbers from TOPIC_COUNTS and REVIEW_COUNTS rows (`report` starts from them)."""
    reviews_today, reviews_total = review_counts
    by_topic = {topic: {"cards": n, "new": new, "due_today": due}
                for topic, n, new, _learning, _mature, due, _ef, _code in sorted(topic_rows)}
    return {
        "today": today.isoformat(),
        "cards": sum(t["cards"] for t in by_topic.values()),
        "new": sum(t["new"] for t in by_topic.values()),
        "due_today": sum(t["due_today"] for t in by_topic.values()),
        "reviews_today": reviews_today or 0,
        "reviews_total": reviews_total,
        "by_topic": by_topic,
    }


def overview(conn, today: date, new_per_day: int | None = None) -> dict:
    """Totals and per-topic counts: cards, new, due today, reviews today and ever, and the new
    cards left today under the daily limit (the dashboard)."""
    from studycli import settings

    params = {"today": today.isoformat(), "mature": MATURE_DAYS}
    [counts] = _rows(conn, REVIEW_COUNTS, params)
    summary = _summary(today, _rows(conn, TOPIC_COUNTS, params), counts)
    [(introduced,)] = _rows(conn, NEW_TODAY, params)
    values = settings.read_all(conn)
    limit = int(values["new-per-day"]) if new_per_day is None else new_per_day
    summary.update(new_per_day=limit, new_today=introduced,
                   new_left_today=min(summary["new"], max(0, limit - introduced)))
    summary["offer_fsrs_fit"] = (values["scheduler"] == "fsrs" and not values["fsrs-parameters"]
                                 and summary["reviews_total"] >= FSRS_FIT_MIN_REVIEWS)
    return summary


def report(conn, today: date) -> dict:
    """The overview's numbers plus, per topic and in total: learning, mature, retention, average EF (of the
    cards reviewed at least once) and code checks passed; the streak, a 12-week heatmap, a 30-day
    forecast and the weakest cards.

    `conn` is a DB-API connection (sqlite3's): the report is plain SQL, so `study stats` needs no ORM.
    """
    params = {"today": today.isoformat(), "mature": MATURE_DAYS, "passing": PASSING_QUALITY,
              "since": (today - timedelta(days=RETENTION_DAYS)).isoformat(),
              "until": (today + timedelta(days=FORECAST_DAYS - 1)).isoformat(), "limit": WEAKEST}

    def rows(sql: str, **extra):
        return _rows(conn, sql, {**params, **extra})

    [counts] = rows(REVIEW_COUNTS)
    topic_rows = rows(TOPIC_COUNTS)
    retention = {topic: (n, passed) for topic, n, passed in rows(RETENTION)}
    code_passed = dict(rows(CODE_PASSED))
    days = [date.fromisoformat(d) for (d,) in rows(STUDY_DAYS)]
    per_day = dict(rows(REVIEWS_PER_DAY, since=(today - timedelta(days=HEATMAP_DAYS)).isoformat()))
    forecast = dict(rows(FORECAST))
    weakest = rows(WEAKEST_CARDS)

    topics = {}
    ef_sums = {}
    for topic, n, new, learning, mature, due, ef_sum, code_cards in sorted(topic_rows):
        reviews_30d, passed_30d = retention.get(topic, (0, 0))
        ef_sums[topic] = ef_sum
        topics[topic] = {
            "cards": n, "new": new, "learning": learning, "mature": mature, "due_today": due,
            "reviews_30d": reviews_30d, "passed_30d": passed_30d or 0,
            "retention": _share(passed_30d, reviews_30d),
            "average_ef": _mean(ef_sum, n - new),
            "code_cards": code_cards, "code_passed": code_passed.get(topic, 0),
        }
    totals = {key: sum(t[key] for t in topics.values())
              for key in ("cards", "new", "learning", "mature", "due_today", "reviews_30d", "passed_30d",
                          "code_cards", "code_passed")}
    totals["retention"] = _share(totals["passed_30d"], totals["reviews_30d"])
    totals["average_ef"] = _mean(sum(ef_sums.values()), totals["cards"] - totals["new"])

    return {
        **_summary(today, topic_rows, counts),
        "topics": topics,
        "totals": totals,
        "streak": streak(days, today),
        "heatmap": [{"day": d.isoformat(), "reviews": per_day.get(d.isoformat(), 0)}
                    for d in _days(today - timedelta(days=HEATMAP_DAYS - 1), HEATMAP_DAYS)],
        "forecast": [{"day": d.isoformat(), "due": forecast.get(d.isoformat(), 0)}
                     for d in _days(today, FORECAST_DAYS)],
        "weakest": [_weak_card(row) for row in weakest],
    }


def streak(days: list[date], today: date) -> dict:
    """Consecutive study days ending today (or yesterday, when today is not studied yet), and the
    longest run ever; `days` are the distinct days with an answer, ascending."""
    longest = run = 0
    previous = None
    for day in days:
        run = run + 1 if previous is not None and (day - previous).days == 1 else 1
        longest = max(longest, run)
        previous = day
    current = run if previous is not None and (today - previous).days <= 1 else 0
    return {"current": current, "longest": longest, "studied_today": previous == today}


def _share(part: int | None, whole: int) -> float | None:
    return round((part or 0) / whole, 4) if whole else None


def _days(first: date, n: int) -> list[date]:
    return [first + timedelta(days=i) for i in range(n)]


def _mean(total: float, n: int) -> float | None:
    return round(total / n, 4) if n else None


def _weak_card(row) -> dict:
    from studycli.content import card_from_dict
    from studycli.cardtypes import headline

    card_id, topic, ef, lapses, interval, due, data = row
    return {"id": card_id, "topic": topic, "ef": round(ef, 4), "lapses": lapses, "interval": interval,
            "due": due, "text": headline(card_from_dict(json.loads(data)))}


# ---------------------------------------------------------------- readiness

EXAM_STYLE_CARDS = """
SELECT c.id, c.type, c.data, s.ef, s.repetitions, s.interval, s.due, s.lapses, s.fsrs
FROM cards c JOIN card_states s ON s.card_id = c.id
WHERE c.retired = 0 AND c.type IN ('mcq', 'ordering', 'matching')
ORDER BY c.position"""
# From the exam-style cards to their reviews through ix_reviews_card: ~15 ms on 100,000 reviews,
# where scanning the review log for them took ~200 ms.
LOGGED_ANSWERS = """
SELECT r.card_id, r.study_day, r.quality, r.interval_before, r.due_before
FROM cards c CROSS JOIN reviews r ON r.card_id = c.id
WHERE c.retired = 0 AND c.type IN ('mcq', 'ordering', 'matching') AND r.scheduled AND r.mode IN ('review', 'check')"""
NEW_CARDS_IN_ORDER = """
SELECT c.id FROM cards c JOIN card_states s ON s.card_id = c.id
WHERE c.retired = 0 AND s.due IS NULL ORDER BY c.position"""


def _day(text):
    return date.fromisoformat(text) if text else None


def _guess(kind: str, card: dict) -> float:
    from studycli import readiness

    options = card.get("choices") or card.get("items") or card.get("pairs") or []
    answer = card.get("answer")
    return readiness.guess_rate(kind, len(options), len(answer) if isinstance(answer, list) else 1)


def readiness_report(conn, today: date, policy, plan=None) -> dict:
    """The expected scaled score today (and on the exam day, with `plan`) from every exam-style
    card's chance of a right answer: the scheduler's state, the forgetting curve fitted to this
    learner's log, and guessing (studycli.readiness)."""
    from studycli import readiness
    from studycli.scheduler import SM2State

    cards = []
    for card_id, kind, data, ef, repetitions, interval, due, lapses, fsrs in conn.execute(EXAM_STYLE_CARDS):
        card = json.loads(data)
        cards.append((card_id, card.get("domain"), _guess(kind, card),
                      SM2State(ef, repetitions, interval, _day(due), lapses), fsrs))
    guesses = {card_id: guess for card_id, _, guess, _, _ in cards}
    recalls, first_answers = [], []
    for card_id, day, quality, interval_before, due_before in conn.execute(LOGGED_ANSWERS):
        if due_before is None:
            first_answers.append((quality >= PASSING_QUALITY, guesses[card_id]))
        elif (recall := readiness.sm2_recall(_day(day), quality, interval_before, _day(due_before),
                                             guesses[card_id])) is not None:
            recalls.append(recall)
    fit = readiness.fit_factor(recalls)
    known = readiness.prior_knowledge(first_answers)
    use_fsrs = policy.algorithm == "fsrs"
    if use_fsrs:
        from studycli import fsrs_schedule

        def state_of(sm2, fsrs):
            return fsrs_schedule.from_json(fsrs) if fsrs else fsrs_schedule.NEW
    else:
        def state_of(sm2, fsrs):
            return sm2

    now = []
    for _, domain, guess, sm2, fsrs in cards:
        state = state_of(sm2, fsrs)
        chance = (readiness.fsrs_chance(state, today, 1.0, guess, known) if use_fsrs
                  else readiness.sm2_chance(state, today, fit.factor, guess, known))
        now.append((domain, chance))
    report = readiness.readiness(now, fit.recalls)
    report["factor"] = round(fit.factor, 3)
    if plan is not None and policy.exam_date is not None and policy.exam_date > today:
        new_ids = [card_id for (card_id,) in conn.execute(NEW_CARDS_IN_ORDER)]
        introduce = dict(zip(new_ids, readiness.introduction_days(plan)))
        on_day = []
        for card_id, domain, guess, sm2, fsrs in cards:
            state = state_of(sm2, fsrs)
            if use_fsrs:
                chance = readiness.project_fsrs(state, today, policy.exam_date, 1.0, guess, known,
                                                introduce.get(card_id), True, policy.desired_retention,
                                                policy.fsrs_parameters)
            else:
                chance = readiness.project_sm2(state, today, policy.exam_date, fit.factor, guess, known,
                                               introduce.get(card_id))
            on_day.append((domain, chance))
        report["exam_day"] = readiness.on_exam_day(on_day, fit.recalls, (policy.exam_date - today).days)
    return report
