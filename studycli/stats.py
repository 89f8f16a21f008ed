"""Numbers about progress, computed from the store: the dashboard and `study stats`."""

from __future__ import annotations

from datetime import date

from studycli.store import Store


def overview(store: Store, cards, today: date) -> dict:
    """Totals and per-topic counts: cards, new, due today, reviews today and ever."""
    by_topic = store.topic_counts(today)
    reviews_today, reviews_total = store.review_counts(today)
    return {
        "today": today.isoformat(),
        "cards": sum(t["cards"] for t in by_topic.values()),
        "new": sum(t["new"] for t in by_topic.values()),
        "due_today": sum(t["due_today"] for t in by_topic.values()),
        "reviews_today": reviews_today,
        "reviews_total": reviews_total,
        "by_topic": by_topic,
    }
