"""The publisher of each kind of queue, built from the settings (RUNRUN_QUEUE and
RUNRUN_TARGET_QUEUES name the kinds a process uses)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.backends.handoff import LocalQueue, Publisher
from shared.backends.handoff._outbox import exponential_backoff
from shared.settings import QueueSettings


def make_publisher(
    kind: str,
    settings: QueueSettings,
    state_dir: Path,
    project_name: str | None,
    lease_seconds: float,
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

        assert settings.tasks_queue and settings.tasks_url  # checked when read
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
    low, high = settings.min_backoff_seconds, settings.max_backoff_seconds
    return LocalQueue(
        state_dir / "queue.sqlite3",
        max_attempts=settings.max_attempts,
        project=project_name or "local",
        backoff=lambda attempts: exponential_backoff(attempts, low, high),
        rate=settings.rate,
        lease_seconds=lease_seconds,
    )
