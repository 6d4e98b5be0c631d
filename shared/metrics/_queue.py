"""The local queue's gauges, read from the outbox when scraped: nothing is counted on the
delivery path, and every worker's scrape sees the one outbox they all share."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from shared.backends.handoff import Backlog

# The local queue's backlog, or None where deliveries go to another queue (nothing to show).
QueueReading = Backlog | None


class QueueCollector:
    """A prometheus-client collector of the local queue's depth, oldest due message's age
    and dead letters."""

    def __init__(
        self, reading: Callable[[], QueueReading], clock: Callable[[], float] = time.time
    ) -> None:
        self._reading = reading
        self._clock = clock

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        backlog = self._reading()
        if backlog is None:
            return
        yield GaugeMetricFamily(
            "runrun_queue_depth",
            "Messages in the local queue not yet run (pending, in backoff, scheduled).",
            value=backlog.waiting,
        )
        yield GaugeMetricFamily(
            "runrun_queue_oldest_age_seconds",
            "Age of the oldest message of the local queue that is due now (0: none is).",
            value=oldest_age(backlog, self._clock()),
        )
        yield GaugeMetricFamily(
            "runrun_queue_dead_letters",
            "Messages the local queue dead-lettered after their last attempt.",
            value=backlog.dead,
        )


def oldest_age(backlog: Backlog, now: float) -> float:
    """Seconds since the oldest due message was published; 0 when none is due."""
    if not backlog.oldest_due_published_at:
        return 0.0
    try:
        published = datetime.fromisoformat(backlog.oldest_due_published_at).timestamp()
    except ValueError:
        return 0.0
    return max(0.0, now - published)
