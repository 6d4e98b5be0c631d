"""The queue's block, checked as a whole: which queue each target's deliveries go to, the
topic, the dispatch limits, and Cloud Tasks' own settings. A queue that is used but cannot
work (Cloud Tasks without its queue name or URL, backoffs upside down) is refused at start,
not at the first delivery."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from shared.settings._env import ConfigError, env_choice, env_float, env_int, env_text

QUEUES = ("pubsub", "local", "tasks")
# A Cloud Tasks queue's full name, as create_task wants it.
_TASKS_QUEUE = re.compile(r"projects/[^/]+/locations/[^/]+/queues/[A-Za-z0-9-]{1,100}")


@dataclass(frozen=True)
class QueueSettings:
    kind: str  # RUNRUN_QUEUE: the queue of every target not in `target_queues`
    target_queues: Mapping[str, str]  # RUNRUN_TARGET_QUEUES=shopify_webhook=tasks,...
    topic: str  # RUNRUN_TOPIC
    max_attempts: int  # RUNRUN_QUEUE_MAX_ATTEMPTS
    pubsub_emulator: str | None  # PUBSUB_EMULATOR_HOST
    tasks_queue: str | None  # RUNRUN_TASKS_QUEUE: projects/P/locations/L/queues/Q
    tasks_url: str | None  # RUNRUN_TASKS_URL: process_delivery's URL, where tasks go
    tasks_emulator: str | None  # CLOUD_TASKS_EMULATOR_HOST
    push_service_account: str | None  # PUSH_SERVICE_ACCOUNT: signs the tasks' OIDC tokens
    push_audience: str | None  # the first of PUSH_AUDIENCE
    # The dispatch limits: deploy gives them to Cloud Tasks, the local queue keeps them
    # itself (rate and backoff; it runs one message at a time per process).
    rate: float  # RUNRUN_QUEUE_RATE
    max_concurrent: int  # RUNRUN_QUEUE_MAX_CONCURRENT
    min_backoff_seconds: float  # RUNRUN_QUEUE_MIN_BACKOFF_SECONDS
    max_backoff_seconds: float  # RUNRUN_QUEUE_MAX_BACKOFF_SECONDS
    tasks_dispatch_deadline_seconds: int  # RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS

    @classmethod
    def from_env(cls, on_cloud_run: bool) -> QueueSettings:
        emulator = env_text("PUBSUB_EMULATOR_HOST") or None
        kind = env_choice("RUNRUN_QUEUE", QUEUES, "pubsub" if emulator or on_cloud_run else "local")
        target_queues = _target_queues()
        tasks_queue = env_text("RUNRUN_TASKS_QUEUE") or None
        tasks_url = env_text("RUNRUN_TASKS_URL") or None
        if "tasks" in (kind, *target_queues.values()):
            _check_tasks(tasks_queue, tasks_url)
        min_backoff = env_float("RUNRUN_QUEUE_MIN_BACKOFF_SECONDS", 0.5)
        max_backoff = env_float("RUNRUN_QUEUE_MAX_BACKOFF_SECONDS", 60.0)
        if max_backoff < min_backoff:
            raise ConfigError("RUNRUN_QUEUE_MAX_BACKOFF_SECONDS is below the minimum backoff")
        return cls(
            kind=kind,
            target_queues=target_queues,
            topic=os.environ.get("RUNRUN_TOPIC") or "webhook-deliveries",
            max_attempts=env_int("RUNRUN_QUEUE_MAX_ATTEMPTS", 5, minimum=1),
            pubsub_emulator=emulator,
            tasks_queue=tasks_queue,
            tasks_url=tasks_url,
            tasks_emulator=env_text("CLOUD_TASKS_EMULATOR_HOST") or None,
            push_service_account=env_text("PUSH_SERVICE_ACCOUNT") or None,
            push_audience=env_text("PUSH_AUDIENCE").split(",")[0].strip() or None,
            rate=env_float("RUNRUN_QUEUE_RATE", 500.0),
            max_concurrent=env_int("RUNRUN_QUEUE_MAX_CONCURRENT", 1000, minimum=1),
            min_backoff_seconds=min_backoff,
            max_backoff_seconds=max_backoff,
            tasks_dispatch_deadline_seconds=_dispatch_deadline(),
        )

    def queue_for(self, target: str) -> str:
        """The queue that `target`'s deliveries (and its follow-ups) are handed to."""
        return self.target_queues.get(target, self.kind)

    @property
    def queues_used(self) -> set[str]:
        return {self.kind, *self.target_queues.values()}


def _target_queues() -> dict[str, str]:
    raw = env_text("RUNRUN_TARGET_QUEUES")
    found: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        target, sep, queue = (x.strip() for x in part.partition("="))
        if not sep or not target.isidentifier() or queue not in QUEUES:
            raise ConfigError(
                f"RUNRUN_TARGET_QUEUES must read target=queue,... with a queue among "
                f"{', '.join(QUEUES)}; got {part!r}"
            )
        found[target] = queue
    return found


def _check_tasks(tasks_queue: str | None, tasks_url: str | None) -> None:
    if tasks_queue is None or not _TASKS_QUEUE.fullmatch(tasks_queue):
        raise ConfigError(
            "the Cloud Tasks queue needs RUNRUN_TASKS_QUEUE=projects/P/locations/L/queues/Q"
            f", got {tasks_queue!r}"
        )
    if tasks_url is None or not tasks_url.startswith(("https://", "http://")):
        raise ConfigError(
            "the Cloud Tasks queue needs RUNRUN_TASKS_URL, the http(s) URL of "
            f"process_delivery, got {tasks_url!r}"
        )


def _dispatch_deadline() -> int:
    deadline = env_int("RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS", 600, minimum=15)
    if deadline > 1800:  # Cloud Tasks' own bounds for HTTP targets: 15 s to 30 min
        raise ConfigError(f"RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS must be <= 1800, got {deadline}")
    return deadline
