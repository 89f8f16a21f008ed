"""Numbers about progress, computed from the store: the dashboard and `study stats`."""

from __future__ import annotations

from collections import Counter
from datetime import date

from studycli.store import Store


def overview(store: Store, cards: dict, today: date) -> dict:
    """Totals and per-topic counts: cards, new, due today, reviews today and ever."""
    states = store.states()
    reviews_today, reviews_total = store.review_counts(today)
    by_topic: dict[str, Counter] = {}
    for card_id, card in cards.items():
        state = states[card_id]
        counts = by_topic.setdefault(card.topic, Counter())
        counts["cards"] += 1
        counts["new"] += state.due is None
        counts["due_today"] += state.due is not None and state.due <= today
    totals = sum(by_topic.values(), Counter())
    return {
        "today": today.isoformat(),
        "cards": totals["cards"],
        "new": totals["new"],
        "due_today": totals["due_today"],
        "reviews_today": reviews_today,
        "reviews_total": reviews_total,
        "by_topic": {
            topic: {key: counts[key] for key in ("cards", "new", "due_today")}
            for topic, counts in sorted(by_topic.items())
        },
    }
