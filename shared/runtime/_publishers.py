"""The publisher of each kind of queue, built from the settings (RUNRUN_QUEUE and
RUNRUN_TARGET_QUEUES name the kinds a process uses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared.backends.handoff import LocalQueue, Publisher
from shared.backends.handoff._outbox import exponential_backoff
from shared.settings import Settings


def make_publisher(
    kind: str,
    settings: Settings,
    *,
    pubsub: Callable[[], Any],
    tasks: Callable[[], Any],
    project: Callable[[], str | None],
    commands: Callable[[], Publisher],
) -> Publisher:
    """A publisher of `kind` ("pubsub", "tasks" or "local"); its clients come from the
    callables, on first use. `commands`: where Cloud Tasks sends what is not a delivery."""
    if kind == "pubsub":
        from shared.backends.handoff._pubsub import PubSubPublisher

        return PubSubPublisher(pubsub, project, create_topics=bool(settings.pubsub_emulator))
    if kind == "tasks":
        from shared.backends.handoff._tasks import CloudTasksPublisher

        assert settings.tasks_queue and settings.tasks_url  # checked by the settings
        return CloudTasksPublisher(
            tasks,
            queue=settings.tasks_queue,
            url=settings.tasks_url,
            service_account=settings.push_service_account,
            audience=settings.push_audience,
            topic=settings.topic,
            others=commands,
            dispatch_deadline_seconds=settings.tasks_dispatch_deadline_seconds,
            create_queue=bool(settings.tasks_emulator),
        )
    low, high = settings.queue_min_backoff_seconds, settings.queue_max_backoff_seconds
    return LocalQueue(
        settings.state_dir / "queue.sqlite3",
        max_attempts=settings.queue_max_attempts,
        project=settings.project or "local",
        backoff=lambda attempts: exponential_backoff(attempts, low, high),
        rate=settings.queue_rate,
        lease_seconds=settings.lease_seconds,
    )
