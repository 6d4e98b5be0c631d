"""Handoff to Google Cloud Tasks: each delivery becomes one HTTP task that POSTs to
`process_delivery` the same messagePublished CloudEvent (structured mode) that a Pub/Sub
push would bring, with an OIDC token for PUSH_SERVICE_ACCOUNT and audience PUSH_AUDIENCE.

The task's name is derived from (target, delivery id[, processor]): Cloud Tasks refuses to
create a name twice, so a provider's retry after a create that succeeded but answered too
late (our 503) is ALREADY_EXISTS, which means the work is queued: accepted, not an error.

`create_task` is one RPC with the request's remaining deadline and no client-side retry, so
a 2xx to the provider always follows a task that exists.

Only the deliveries topic becomes tasks: a message on another topic (the deploy commands a
deployer subscribes to) is no work for `process_delivery`, and goes to `others` (Pub/Sub).

A task is at most 1 MB (cloud.google.com/tasks/docs/quotas), and its body carries the
delivery base64 encoded: a delivery whose task would be larger goes to Pub/Sub instead
(`others`, up to 10 MB a message), whose push subscription brings it to the same
`process_delivery`; only a scheduled run (`not_before`) of such a delivery cannot be made,
since Pub/Sub delivers at once, and is refused as NotConfigured.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from shared._deadline import remaining
from shared._delivery import Delivery, message_published_event, rfc3339_now
from shared._errors import BackendUnavailable, NotConfigured
from shared.backends._clients import backend_errors
from shared.backends.handoff._publisher import Publisher

STRUCTURED = "application/cloudevents+json; charset=utf-8"
# Cloud Tasks' limit on a task's size (cloud.google.com/tasks/docs/quotas: 1 MB).
MAX_TASK_BYTES = 1_000_000


def task_id(attributes: dict[str, str]) -> str:
    """The task id of a delivery (or of one processor's scheduled run of it).

    A hash first: Cloud Tasks spreads names by their prefix, and sequential prefixes (ids
    that count up) make it slower. Task ids allow letters, digits, - and _ only.
    """
    parts = (attributes["source"], attributes["delivery_id"], attributes.get("processor", ""))
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:40]
    readable = "".join(c if c.isalnum() or c in "-_" else "_" for c in parts[0])[:60]
    return f"{digest}-{readable}"


def structured_event(
    *, project: str, topic: str, message_id: str, attributes: dict[str, str], data: bytes
) -> bytes:
    """The body of a task: a messagePublished CloudEvent in structured mode."""
    delivery = Delivery(
        source=attributes.get("source", ""),
        delivery_id=attributes.get("delivery_id", ""),
        event_type=attributes.get("event_type", ""),
        content_type=attributes.get("content_type", ""),
        received_at=attributes.get("received_at", ""),
        data=data,
        processor=attributes.get("processor", ""),
        traceparent=attributes.get("traceparent", ""),
    )
    event, payload = message_published_event(
        project=project,
        topic=topic,
        message_id=message_id,
        publish_time=rfc3339_now(),
        delivery=delivery,
    )
    return json.dumps({**event, "data": payload}, separators=(",", ":")).encode()


def tasks_v2_task_size(task: Any) -> int:
    """The task's size as Cloud Tasks counts it: its serialised bytes."""
    from google.cloud import tasks_v2

    return int(tasks_v2.Task.pb(task).ByteSize())


class CloudTasksPublisher(Publisher):
    def __init__(
        self,
        client: Callable[[], Any],
        *,
        queue: str,
        url: str,
        service_account: str | None,
        audience: str | None,
        topic: str,
        others: Callable[[], Publisher],
        dispatch_deadline_seconds: int = 600,
        create_queue: bool = False,
    ) -> None:
        self._client = client
        self.topic, self._others = topic, others
        self.queue, self.url = queue, url
        self.service_account, self.audience = service_account, audience
        self.dispatch_deadline = timedelta(seconds=dispatch_deadline_seconds)
        # On the emulator a missing queue is created (in production, deploy creates it).
        self._create_queue = create_queue
        self._ready = False
        self._lock = threading.Lock()
        self.project = queue.split("/")[1]

    def _ensure_queue(self, client: Any) -> None:
        if self._ready or not self._create_queue:
            return
        from google.cloud import tasks_v2

        with self._lock:
            if not self._ready:
                parent = self.queue.rsplit("/queues/", 1)[0]
                queue = tasks_v2.Queue(name=self.queue)
                client.create_queue(parent=parent, queue=queue, retry=None, timeout=remaining())
                self._ready = True

    def build_task(
        self, topic: str, data: bytes, attributes: dict[str, str], not_before: float | None
    ) -> Any:
        """The task for one message (its name, body, token and schedule)."""
        from google.cloud import tasks_v2

        name = f"{self.queue}/tasks/{task_id(attributes)}"
        body = structured_event(
            project=self.project,
            topic=topic,
            message_id=task_id(attributes),
            attributes=attributes,
            data=data,
        )
        headers = {"Content-Type": STRUCTURED}
        if attributes.get("traceparent"):
            # The body carries it for the processor; the header lets Cloud Run's own span of
            # the task's request join the delivery's trace too.
            headers["traceparent"] = attributes["traceparent"]
        request = tasks_v2.HttpRequest(
            url=self.url, http_method=tasks_v2.HttpMethod.POST, headers=headers, body=body
        )
        if self.service_account:
            request.oidc_token = tasks_v2.OidcToken(
                service_account_email=self.service_account,
                audience=self.audience or self.url,
            )
        task = tasks_v2.Task(
            name=name, http_request=request, dispatch_deadline=self.dispatch_deadline
        )
        if not_before is not None:
            task.schedule_time = datetime.fromtimestamp(not_before, UTC)
        return task

    def publish(
        self,
        topic: str,
        data: bytes,
        attributes: dict[str, str],
        *,
        not_before: float | None = None,
    ) -> str:
        from google.api_core.exceptions import AlreadyExists, InvalidArgument

        if topic != self.topic:
            return self._others().publish(topic, data, attributes, not_before=not_before)
        task = self.build_task(topic, data, attributes, not_before)
        size = tasks_v2_task_size(task)
        if size > MAX_TASK_BYTES:
            if not_before is not None:
                raise NotConfigured(
                    f"a delivery whose task is {size} bytes (over Cloud Tasks' 1 MB) cannot be "
                    "scheduled: Pub/Sub, which takes it, delivers at once"
                )
            return self._others().publish(topic, data, attributes)
        try:
            client = self._client()
            self._ensure_queue(client)
            created = client.create_task(
                parent=self.queue, task=task, retry=None, timeout=remaining()
            )
        except AlreadyExists:
            return str(task.name)  # created by an earlier attempt: the work is queued
        except InvalidArgument as exc:  # a bad queue name, URL or account: configuration
            raise NotConfigured(f"Cloud Tasks refused the task: {exc.message}") from exc
        except backend_errors() as exc:
            raise BackendUnavailable(
                f"queue failed to create the task: {type(exc).__name__}", retry_after=1
            ) from exc
        return str(created.name)
