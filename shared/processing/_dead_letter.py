"""The last Cloud Tasks attempt of a delivery, handed to the dead-letter topic.

Cloud Tasks has no dead-letter queue: once a task's attempts are spent it is deleted
(cloud.google.com/tasks/docs/quotas). The queue tells its handler which attempt this is
(`X-CloudTasks-TaskRetryCount`: 0 on the first,
cloud.google.com/tasks/docs/creating-http-target-tasks#handler), and the service knows the
queue's attempts (RUNRUN_QUEUE_MAX_ATTEMPTS, set by the deploy plan). So when the last
attempt fails, the delivery is published to `process_delivery-dead-letters`, the topic where
Pub/Sub dead-letters the same target's messages, marked `RunrunDeadLetterBy=cloud-tasks`,
and the task is answered 200 only once that publish is acknowledged: `runrun dead-letters`
lists and replays it like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared._delivery import delivery_from_event

if TYPE_CHECKING:
    from shared.processing._host import ProcessingRuntime

RETRY_COUNT_HEADER = "x-cloudtasks-taskretrycount"
QUEUE_HEADER = "x-cloudtasks-queuename"
DEAD_LETTER_TOPIC = "process_delivery-dead-letters"


def last_task_attempt(headers: Mapping[str, str], max_attempts: int) -> int | None:
    """The attempt number when this request is a task's last attempt, else None."""
    raw = headers.get(RETRY_COUNT_HEADER)
    if raw is None or not raw.strip().isdigit():
        return None
    attempt = int(raw) + 1
    return attempt if attempt >= max_attempts else None


def dead_letter_task(
    runtime: ProcessingRuntime, event: Any, attempt: int, headers: Mapping[str, str]
) -> str:
    """Publish the event's delivery to the dead-letter topic; its message id."""
    delivery = delivery_from_event(event.data)
    attributes = {
        **delivery.attributes(),
        "RunrunDeadLetterBy": "cloud-tasks",
        "RunrunDeadLetterAttempts": str(attempt),
        "RunrunDeadLetterQueue": headers.get(QUEUE_HEADER, ""),
    }
    return runtime.publish(DEAD_LETTER_TOPIC, delivery, attributes)
