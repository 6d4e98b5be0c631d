"""The Cloud Tasks part of a run-mode setup, when the library hands deliveries to it: the
queue, its dispatch limits and retries, its logs, and the runtime account's roles.

Cloud Tasks deletes a task once its attempts are spent, with no dead-letter queue and no
log unless the queue samples its logs (cloud.google.com/tasks/docs/quotas,
cloud.google.com/tasks/docs/logging). So the queue here retries for at least
`retry_hours` (24 by default) backing off up to 10 minutes, logs every attempt
(`--log-sampling-ratio=1.0`), and tells the service its attempt count: the service hands a
delivery whose last attempt failed to the dead-letter topic itself (it sees
`X-CloudTasks-TaskRetryCount`). `--max-retry-duration=0s`: attempts alone decide, so that the
service knows exactly which attempt is the last.
"""

from __future__ import annotations

from ._iam import grant, sa
from ._needs import QueueNeeds
from ._pubsub import dead_letter_topic
from ._settings import PlanSettings
from ._shell import converge

MAX_DOUBLINGS = 16  # Cloud Tasks' default, given so the attempt count below holds


def max_attempts(queue: QueueNeeds) -> int:
    """Attempts that span at least `retry_hours` when each retry waits min_backoff,
    doubling up to max_backoff (the first attempt is at once)."""
    wanted, elapsed, attempts, wait = queue.retry_hours * 3600, 0.0, 1, queue.min_backoff
    doublings = 0
    while elapsed < wanted:
        elapsed += min(wait, queue.max_backoff)
        attempts += 1
        if doublings < MAX_DOUBLINGS:
            wait, doublings = wait * 2, doublings + 1
    return attempts


def queue_path(s: PlanSettings, queue: QueueNeeds) -> str:
    return f"projects/{s.project}/locations/{s.region}/queues/{queue.queue}"


def queue_env(s: PlanSettings) -> dict[str, str]:
    """The variables the service reads to send tasks (queue path, URL, attempts)."""
    queue = s.needs.queue
    if queue is None:
        return {}
    values = {
        "queue_path": queue_path(s, queue),
        "url": s.url,
        "max_attempts": str(max_attempts(queue)),
    }
    return {name: value.format(**values) for name, value in queue.env.items()}


def _queue_flags(s: PlanSettings, queue: QueueNeeds) -> list[str]:
    return [
        f"--location={s.region}",
        f"--max-dispatches-per-second={queue.rate:g}",
        f"--max-concurrent-dispatches={queue.max_concurrent}",
        f"--max-attempts={max_attempts(queue)}",
        "--max-retry-duration=0s",
        f"--min-backoff={queue.min_backoff:g}s",
        f"--max-backoff={queue.max_backoff:g}s",
        f"--max-doublings={MAX_DOUBLINGS}",
        "--log-sampling-ratio=1.0",
        f"--project={s.project}",
    ]


def tasks_setup(s: PlanSettings) -> list[str]:
    """The queue (created, or brought to these settings) and the runtime's roles: create
    tasks, sign them as the push account, publish the last attempt's dead letters."""
    queue = s.needs.queue
    if queue is None:
        return []
    base = ["gcloud", "tasks", "queues"]
    where = [f"--location={s.region}", f"--project={s.project}"]
    runtime = sa(s.runtime_email)
    enqueuer = [
        *base,
        "add-iam-policy-binding",
        queue.queue,
        f"--member={runtime}",
        "--role=roles/cloudtasks.enqueuer",
        *where,
    ]
    from ._shell import render

    lines = [
        "# Cloud Tasks: the queue, retried for a day, every attempt logged",
        converge(
            [*base, "describe", queue.queue, *where],
            [*base, "update", queue.queue, *_queue_flags(s, queue)],
            [*base, "create", queue.queue, *_queue_flags(s, queue)],
        ),
        "runrun_retry " + render(enqueuer) + " >/dev/null",
        # A task carrying an OIDC token of the push account needs actAs on it.
        grant(
            ["iam", "service-accounts"], s.push_email, runtime, "roles/iam.serviceAccountUser", s
        ),
    ]
    if s.needs.dead_letter_publisher:
        topic = dead_letter_topic(s.needs.dead_letter_publisher)
        lines.append(grant(["pubsub", "topics"], topic, runtime, "roles/pubsub.publisher", s))
    return lines
