"""The queue's settings, checked together: a queue that is used but cannot work (Cloud
Tasks without its queue name or URL, backoffs upside down) is refused at start, not at the
first delivery."""

from __future__ import annotations

import re
from typing import Any

from shared.settings._env import ConfigError, env_choice, env_float, env_int, env_text

QUEUES = ("pubsub", "local", "tasks")
# A Cloud Tasks queue's full name, as create_task wants it.
_TASKS_QUEUE = re.compile(r"projects/[^/]+/locations/[^/]+/queues/[A-Za-z0-9-]{1,100}")


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


def queue_settings() -> dict[str, Any]:
    """The Cloud Tasks and queue-limit settings, checked together: a queue that is used
    but cannot work is refused at start, not at the first delivery."""
    queue = env_choice("RUNRUN_QUEUE", QUEUES, "")
    target_queues = _target_queues()
    tasks_queue = env_text("RUNRUN_TASKS_QUEUE") or None
    tasks_url = env_text("RUNRUN_TASKS_URL") or None
    if "tasks" in (queue, *target_queues.values()):
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
    min_backoff = env_float("RUNRUN_QUEUE_MIN_BACKOFF_SECONDS", 0.5)
    max_backoff = env_float("RUNRUN_QUEUE_MAX_BACKOFF_SECONDS", 60.0)
    if max_backoff < min_backoff:
        raise ConfigError("RUNRUN_QUEUE_MAX_BACKOFF_SECONDS is below the minimum backoff")
    deadline = env_int("RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS", 600, minimum=15)
    if deadline > 1800:  # Cloud Tasks' own bounds for HTTP targets: 15 s to 30 min
        raise ConfigError(f"RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS must be <= 1800, got {deadline}")
    return {
        "target_queues": target_queues,
        "tasks_queue": tasks_queue,
        "tasks_url": tasks_url,
        "tasks_emulator": env_text("CLOUD_TASKS_EMULATOR_HOST") or None,
        "push_service_account": env_text("PUSH_SERVICE_ACCOUNT") or None,
        "push_audience": env_text("PUSH_AUDIENCE").split(",")[0].strip() or None,
        "queue_rate": env_float("RUNRUN_QUEUE_RATE", 500.0),
        "queue_max_concurrent": env_int("RUNRUN_QUEUE_MAX_CONCURRENT", 1000, minimum=1),
        "queue_min_backoff_seconds": min_backoff,
        "queue_max_backoff_seconds": max_backoff,
        "tasks_dispatch_deadline_seconds": deadline,
    }
