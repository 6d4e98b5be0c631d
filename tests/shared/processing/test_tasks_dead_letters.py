"""What Cloud Tasks would lose, kept: the last attempt of a task that fails is handed to the
dead-letter topic, where `runrun dead-letters` lists it (finding 9); a delivery too large for
a 1 MB task goes to Pub/Sub instead (finding 10). The tasks go to the gRPC stand-in, which
refuses a task over 1 MB as Cloud Tasks does; the dead letters to the Pub/Sub emulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import flask
import pytest

from shared import (
    Delivery,
    MemoryPublisher,
    NotConfigured,
    ProcessorRegistry,
    Runtime,
    process_push,
    reload_settings,
)
from shared.backends._clients import make_tasks_client
from shared.backends.handoff._tasks import MAX_TASK_BYTES, CloudTasksPublisher, tasks_v2_task_size
from shared.backends.idempotency import MemoryStore
from shared.processing._dead_letter import DEAD_LETTER_TOPIC
from tests.shared.backends.handoff.test_tasks_handoff import QUEUE, URL, _event
from tests.support.emulators import Emulators
from tests.support.runrun_scenarios import corpus
from tests.support.tasks_standin import CloudTasksStandIn

TOPIC = "webhook-deliveries"


def failing_runtime(publisher: MemoryPublisher, max_attempts: int = 154) -> Runtime:
    registry = ProcessorRegistry()

    @registry.register(name="always-fails")
    def fails(delivery: Delivery, runtime: Runtime) -> None:
        raise RuntimeError("the partner API is down")

    os.environ["RUNRUN_QUEUE_MAX_ATTEMPTS"] = str(max_attempts)
    settings = reload_settings()
    return Runtime(settings, processors=registry, publisher=publisher, store=MemoryStore())


def push(runtime: Runtime, delivery: Delivery, retry_count: int | None) -> flask.Response:
    headers = {"X-CloudTasks-QueueName": "runrun-deliveries"}
    if retry_count is not None:
        headers["X-CloudTasks-TaskRetryCount"] = str(retry_count)
    app = flask.Flask("process")
    body = json.dumps(_event(delivery))
    with app.test_request_context(
        "/", method="POST", data=body, content_type="application/json", headers=headers
    ):
        return process_push(flask.request, runtime)


def test_finding_9_the_last_task_attempt_is_dead_lettered_not_lost() -> None:
    publisher = MemoryPublisher()
    runtime = failing_runtime(publisher, max_attempts=154)
    delivery = Delivery("github_webhook", "d-9", "push", "application/json", "", b'{"a":1}')
    # Attempts before the last fail as usual: Cloud Tasks retries them.
    assert push(runtime, delivery, retry_count=152).status_code == 500
    assert push(runtime, delivery, retry_count=None).status_code == 500  # a Pub/Sub push
    assert publisher.published == []
    # The last attempt (retry count 153 of 154 attempts) goes to the dead-letter topic.
    answer = push(runtime, delivery, retry_count=153)
    assert answer.status_code == 200 and answer.get_data() == b"dead-lettered"
    [letter] = publisher.published
    assert letter.topic == DEAD_LETTER_TOPIC == "process_delivery-dead-letters"
    assert letter.data == b'{"a":1}'
    assert letter.attributes["delivery_id"] == "d-9"
    assert letter.attributes["RunrunDeadLetterBy"] == "cloud-tasks"
    assert letter.attributes["RunrunDeadLetterAttempts"] == "154"
    assert letter.attributes["RunrunDeadLetterQueue"] == "runrun-deliveries"


def test_finding_9_a_dead_letter_that_cannot_be_published_is_not_answered_200() -> None:
    class Down(MemoryPublisher):
        def publish(self, topic: str, data: bytes, attributes: dict[str, str], **kw: Any) -> str:
            from shared import BackendUnavailable

            raise BackendUnavailable("queue down", retry_after=1)

    runtime = failing_runtime(Down(), max_attempts=5)
    delivery = Delivery("github_webhook", "d-10", "push", "application/json", "", b"{}")
    assert push(runtime, delivery, retry_count=4).status_code == 503


@pytest.fixture
def standin() -> Any:
    server = CloudTasksStandIn().start()
    yield server
    server.stop()


def _publisher(standin: CloudTasksStandIn, others: MemoryPublisher) -> CloudTasksPublisher:
    client = make_tasks_client(standin.host)
    return CloudTasksPublisher(
        lambda: client, queue=QUEUE, url=URL, service_account="p@x.iam.gserviceaccount.com",
        audience="runrun-push", topic=TOPIC, others=lambda: others,
    )  # fmt: skip


def _largest_fitting(publisher: CloudTasksPublisher) -> int:
    """The largest delivery body whose task is at most MAX_TASK_BYTES."""
    low, high = 0, MAX_TASK_BYTES
    while low < high:
        middle = (low + high + 1) // 2
        task = publisher.build_task(TOPIC, b"x" * middle, _attributes("probe"), None)
        low, high = (
            (middle, high) if tasks_v2_task_size(task) <= MAX_TASK_BYTES else (low, middle - 1)
        )
    return low


def _attributes(delivery_id: str) -> dict[str, str]:
    return {"source": "github_webhook", "delivery_id": delivery_id, "event_type": "push"}


def test_finding_10_a_delivery_too_large_for_a_task_goes_to_pubsub_at_the_boundary(
    standin: CloudTasksStandIn,
) -> None:
    others = MemoryPublisher()
    publisher = _publisher(standin, others)
    fits = _largest_fitting(publisher)
    assert 700_000 < fits < 760_000  # base64 in a JSON CloudEvent: about three quarters of 1 MB
    # The largest that fits is a task; one byte more goes to Pub/Sub, whole.
    publisher.publish(TOPIC, b"x" * fits, _attributes("probe"))
    assert len(standin.tasks) == 1 and others.published == []
    publisher.publish(TOPIC, b"y" * (fits + 1), _attributes("big"))
    assert len(standin.tasks) == 1
    [message] = others.published
    assert (message.topic, len(message.data)) == (TOPIC, fits + 1)
    assert message.attributes["delivery_id"] == "big"
    # A scheduled run cannot go through Pub/Sub, which delivers at once: refused, clearly.
    with pytest.raises(NotConfigured, match="cannot be scheduled"):
        publisher.publish(TOPIC, b"z" * (fits + 1), _attributes("later"), not_before=2e9)


@pytest.mark.emulators
def test_finding_9_runrun_dead_letters_lists_the_cloud_tasks_dead_letters(
    on_emulators: Emulators,
) -> None:
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

    project = os.environ["GOOGLE_CLOUD_PROJECT"]
    # The topic is the processing target's, shared with Pub/Sub's dead letters; the
    # subscription is what the setup plan makes on it (unique per run on the emulator).
    subscription = f"projects/{project}/subscriptions/tasks-dl-{uuid.uuid4().hex[:8]}"
    publisher, subscriber = PublisherClient(), SubscriberClient()
    topic = f"projects/{project}/topics/{DEAD_LETTER_TOPIC}"
    try:
        try:
            publisher.create_topic(name=topic, timeout=30)
        except Exception:  # noqa: BLE001 - made by an earlier test of this session
            pass
        subscriber.create_subscription(name=subscription, topic=topic, timeout=30)
        os.environ["RUNRUN_QUEUE"] = "pubsub"
        runtime = failing_runtime(MemoryPublisher(), max_attempts=5)
        from shared.backends.handoff._pubsub import PubSubPublisher

        pubsub = PubSubPublisher(lambda: runtime.pubsub, lambda: project)
        runtime = Runtime(
            runtime.settings, processors=runtime.processors, publisher=pubsub, store=MemoryStore()
        )
        delivery = Delivery("github_webhook", "d-11", "push", "application/json", "", b"{}")
        assert push(runtime, delivery, retry_count=4).status_code == 200
        result = subprocess.run(
            [sys.executable, "-m", "runrun", "dead-letters", "list", "process_delivery",
             "--project", project, "--subscription", subscription],
            cwd=corpus.ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        [letter] = [json.loads(line) for line in result.stdout.splitlines()]
        assert letter["dead_lettered_by"] == "cloud-tasks"
        assert letter["delivery_attempts"] == "5"
        assert letter["attributes"]["delivery_id"] == "d-11"
        assert not any(k.startswith("RunrunDeadLetter") for k in letter["attributes"])
        runtime.stop()
    finally:
        subscriber.close()
