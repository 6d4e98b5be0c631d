"""The Cloud Tasks hand-off through the official google-cloud-tasks client, against a local
gRPC stand-in that keeps Cloud Tasks' name rule (tests/support/tasks_standin.py): what each task
carries, ALREADY_EXISTS as accepted, a create answered too late is 503 with the claim
released; per-target queues; scheduling and RetryLater on every queue; the local queue's
not-before time and rate limit; the settings refused at start.
"""

from __future__ import annotations

import json
import sys
import threading
import types
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import flask
import pytest

from runrun._cli import main as runrun_main
from shared import (
    ConfigError,
    Delivery,
    MemoryPublisher,
    NotConfigured,
    ProcessorRegistry,
    ProcessorsDeferred,
    RetryLater,
    Runtime,
    check_scheduling,
    current_runtime,
    process_push,
    reload_settings,
)
from shared._delivery import delivery_from_event, rfc3339_now
from shared.backends.handoff import LocalQueue
from shared.backends.handoff._local_worker import LocalWorker
from shared.backends.handoff._outbox import QueuedMessage
from shared.backends.handoff._pubsub import PubSubPublisher
from shared.backends.handoff._tasks import STRUCTURED, CloudTasksPublisher, task_id
from shared.backends.idempotency import MemoryStore
from shared.processing._push import parse_push
from tests.support.pubsub_util import SECRET, github_headers, make_app, push_body
from tests.support.tasks_standin import CloudTasksStandIn

QUEUE = "projects/runrun-test/locations/europe-west1/queues/deliveries"
URL = "https://runrun.example/process_delivery"
ACCOUNT = "runrun-push@runrun-test.iam.gserviceaccount.com"


@pytest.fixture
def standin() -> Iterator[CloudTasksStandIn]:
    server = CloudTasksStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def on_tasks(standin: CloudTasksStandIn, monkeypatch: pytest.MonkeyPatch) -> CloudTasksStandIn:
    monkeypatch.setenv("RUNRUN_QUEUE", "tasks")
    monkeypatch.setenv("RUNRUN_STORE", "memory")
    monkeypatch.setenv("RUNRUN_TASKS_QUEUE", QUEUE)
    monkeypatch.setenv("RUNRUN_TASKS_URL", URL)
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", standin.host)
    monkeypatch.setenv("PUSH_SERVICE_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    reload_settings()
    return standin


def _deliver(app: flask.Flask, delivery_id: str) -> flask.Response:
    body = push_body()
    response: flask.Response = app.test_client().post(
        "/", data=body, headers=github_headers(body, delivery_id)
    )
    return response


def test_a_task_is_the_push_event_with_a_token_and_a_name_of_the_delivery(
    on_tasks: CloudTasksStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PUSH_AUDIENCE", "runrun-push, https://old.example")
    reload_settings()
    delivery_id = str(uuid.uuid4())
    assert _deliver(make_app("github_webhook", monkeypatch), delivery_id).status_code == 200

    [task] = on_tasks.tasks.values()
    ids = {"source": "github_webhook", "delivery_id": delivery_id}
    assert task.name == f"{QUEUE}/tasks/{task_id(ids)}"
    request = task.http_request
    assert request.url == URL and request.http_method.name == "POST"
    assert request.headers["Content-Type"] == STRUCTURED
    assert request.oidc_token.service_account_email == ACCOUNT
    assert request.oidc_token.audience == "runrun-push"  # the first of a rotation
    assert task.dispatch_deadline.total_seconds() == 600
    assert not task.schedule_time  # due at once

    # process_delivery reads it as it reads a Pub/Sub push: the same delivery comes out.
    event = json.loads(request.body)
    assert event["type"] == "google.cloud.pubsub.topic.v1.messagePublished"
    assert event["specversion"] == "1.0"
    app = flask.Flask("process")
    with app.test_request_context("/", method="POST", data=request.body, headers=request.headers):
        parsed = parse_push(flask.request)
    delivery = delivery_from_event(parsed.data)
    assert (delivery.source, delivery.delivery_id, delivery.data) == (
        "github_webhook",
        delivery_id,
        push_body(),
    )


def test_creating_a_task_twice_is_already_exists_and_counts_as_accepted(
    on_tasks: CloudTasksStandIn,
) -> None:
    publisher = current_runtime().publisher
    assert isinstance(publisher, CloudTasksPublisher)
    attributes = {"source": "github_webhook", "delivery_id": "d-1"}
    first = publisher.publish(reload_settings().queue.topic, b"{}", attributes)
    again = publisher.publish(reload_settings().queue.topic, b"{}", attributes)
    assert first == again
    assert on_tasks.creates == 2 and len(on_tasks.tasks) == 1


def test_a_create_answered_past_the_deadline_is_503_and_the_retry_is_accepted(
    on_tasks: CloudTasksStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS", "0.5")
    reload_settings()
    app = make_app("github_webhook", monkeypatch)
    delivery_id = str(uuid.uuid4())
    on_tasks.hold.set()  # the task is stored, the answer comes too late
    late = _deliver(app, delivery_id)
    assert late.status_code == 503 and late.headers["Retry-After"]
    assert len(on_tasks.tasks) == 1

    on_tasks.hold.clear()
    on_tasks.released.set()
    retry = _deliver(app, delivery_id)  # the claim was released: the key is free again
    assert retry.status_code == 200
    assert "Idempotent-Replayed" not in retry.headers
    assert on_tasks.creates == 2 and len(on_tasks.tasks) == 1  # ALREADY_EXISTS: accepted
    replay = _deliver(app, delivery_id)
    assert replay.headers["Idempotent-Replayed"] == "true" and on_tasks.creates == 2


def test_a_scheduled_message_is_a_task_with_a_schedule_time(on_tasks: CloudTasksStandIn) -> None:
    at = datetime(2031, 5, 4, 3, 2, 1, 500000, tzinfo=UTC)
    runtime = current_runtime()
    delivery = Delivery("github_webhook", "d-2", "push", "application/json", rfc3339_now(), b"{}")
    runtime.schedule(delivery, at=at)
    [task] = on_tasks.tasks.values()
    assert task.schedule_time == at


def test_targets_choose_their_queue(
    on_tasks: CloudTasksStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("RUNRUN_TARGET_QUEUES", "github_webhook=tasks")
    settings = reload_settings()
    runtime = Runtime(settings, run_queue_worker=False)
    assert isinstance(runtime.publisher_for("github_webhook"), CloudTasksPublisher)
    assert isinstance(runtime.publisher_for("stripe_webhook"), LocalQueue)
    runtime.stop()


def test_messages_on_other_topics_go_to_pubsub(on_tasks: CloudTasksStandIn) -> None:
    others = MemoryPublisher()
    publisher = CloudTasksPublisher(
        lambda: None, queue=QUEUE, url=URL, service_account=None, audience=None,
        topic="deliveries", others=lambda: others,
    )  # fmt: skip
    publisher.publish("deploy-commands", b"{}", {"command": "deploy-staging"})
    assert [m.topic for m in others.published] == ["deploy-commands"]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RUNRUN_QUEUE": "tasks"}, "RUNRUN_TASKS_QUEUE"),
        ({"RUNRUN_QUEUE": "tasks", "RUNRUN_TASKS_QUEUE": "deliveries"}, "RUNRUN_TASKS_QUEUE"),
        ({"RUNRUN_QUEUE": "tasks", "RUNRUN_TASKS_QUEUE": QUEUE}, "RUNRUN_TASKS_URL"),
        ({"RUNRUN_TARGET_QUEUES": "github_webhook=kafka"}, "RUNRUN_TARGET_QUEUES"),
        ({"RUNRUN_TARGET_QUEUES": "shopify"}, "RUNRUN_TARGET_QUEUES"),
        ({"RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS": "3600"}, "DISPATCH_DEADLINE"),
    ],
)
def test_settings_a_queue_cannot_work_with_are_refused_at_start(
    env: dict[str, str], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=named):
        reload_settings()
    for name in env:  # the fixture's clean-up reads the settings again
        monkeypatch.delenv(name)


def _delayed_registry(seconds: float, ran: list[str]) -> ProcessorRegistry:
    registry = ProcessorRegistry()

    @registry.register(source="github_webhook", name="later", delay=seconds)
    def later(delivery: Delivery, runtime: Runtime) -> None:
        ran.append(delivery.delivery_id)

    return registry


def test_a_delayed_processor_on_pubsub_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RUNRUN_QUEUE", "pubsub")
    registry = _delayed_registry(5, [])
    with pytest.raises(ConfigError, match="'later' runs 5 s after its delivery"):
        check_scheduling(reload_settings(), registry)
    monkeypatch.setenv("RUNRUN_TARGET_QUEUES", "github_webhook=local")
    check_scheduling(reload_settings(), registry)  # its target's deliveries never see Pub/Sub

    # `runrun serve` says so in one line and exits 2, before any worker starts.
    monkeypatch.setenv("RUNRUN_TARGET_QUEUES", "")
    module = types.ModuleType("delayed_processors")
    module.registry = registry  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "delayed_processors", module)
    monkeypatch.setenv("RUNRUN_PROCESSORS", "delayed_processors:registry")
    assert runrun_main(["serve", "--port", "1"]) == 2
    assert "Pub/Sub cannot schedule" in capsys.readouterr().err

    with pytest.raises(NotConfigured, match="Pub/Sub cannot hold a message"):
        PubSubPublisher(lambda: None, lambda: "p").publish("t", b"{}", {}, not_before=1.0)


def _event(delivery: Delivery) -> dict[str, object]:
    import base64

    data = base64.b64encode(delivery.data).decode()
    return {"message": {"data": data, "attributes": delivery.attributes(), "messageId": "1"}}


def test_a_delayed_processor_schedules_its_own_run_instead_of_running_early() -> None:
    ran: list[str] = []
    queue = MemoryPublisher()
    runtime = Runtime(
        reload_settings(),
        processors=_delayed_registry(5, ran),
        publisher=queue,
        store=MemoryStore(),
    )
    received = "2031-01-01T00:00:00.000Z"
    delivery = Delivery("github_webhook", "d-3", "push", "application/json", received, b"{}")
    runtime.process(_event(delivery))
    assert ran == []
    [scheduled] = queue.published
    assert scheduled.attributes["processor"] == "later"
    assert scheduled.not_before == datetime(2031, 1, 1, 0, 0, 5, tzinfo=UTC).timestamp()

    # Its own run, come back too early (a clock ahead of ours), asks to be retried later.
    with pytest.raises(ProcessorsDeferred) as early:
        runtime.process(_event(Delivery.from_attributes(scheduled.attributes, b"{}")))
    assert early.value.status_code == 503 and ran == []

    # Once due it runs, once, and the original message never runs it again.
    due = Delivery("github_webhook", "d-4", "push", "application/json", "2001-01-01T00:00Z", b"{}")
    runtime.process(_event(due))
    runtime.process(
        _event(Delivery.from_attributes({**due.attributes(), "processor": "later"}, b"{}"))
    )
    assert ran == ["d-4"]


def test_retry_later_is_503_with_retry_after_and_the_others_still_run() -> None:
    registry = ProcessorRegistry()
    runs: list[str] = []
    busy = {"on": True}

    @registry.register(name="partner")
    def partner(delivery: Delivery, runtime: Runtime) -> None:
        runs.append("partner")
        if busy["on"]:
            raise RetryLater(7.2, "partner API said 429")

    @registry.register(name="store")
    def store(delivery: Delivery, runtime: Runtime) -> None:
        runs.append("store")

    runtime = Runtime(
        reload_settings(), processors=registry, publisher=MemoryPublisher(), store=MemoryStore()
    )
    delivery = Delivery("github_webhook", "d-5", "push", "application/json", "", b"{}")
    body = json.dumps(_event(delivery))
    app = flask.Flask("process")
    with app.test_request_context("/", method="POST", data=body, content_type="application/json"):
        answer = process_push(flask.request, runtime)
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "8"
    busy["on"] = False
    with app.test_request_context("/", method="POST", data=body, content_type="application/json"):
        assert process_push(flask.request, runtime).status_code == 200
    assert runs == ["partner", "store", "partner"]  # store ran once; partner was released


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _one(leased: list[QueuedMessage] | float) -> bool:
    return isinstance(leased, list) and len(leased) == 1 and isinstance(leased[0], QueuedMessage)


def test_the_local_queue_holds_a_scheduled_message_until_its_time(tmp_path: object) -> None:
    clock = _Clock()
    queue = LocalQueue(tmp_path / "q.sqlite3", clock=clock)  # type: ignore[operator]
    queue.publish("t", b"{}", {"source": "s", "delivery_id": "1"}, not_before=1005.0)
    assert queue.lease_batch("t", 1) == []
    clock.now = 1005.0
    assert _one(queue.lease_batch("t", 1))


def test_the_local_queue_paces_its_dispatches_at_its_rate(tmp_path: object) -> None:
    clock = _Clock()
    queue = LocalQueue(tmp_path / "q.sqlite3", clock=clock, rate=20)  # type: ignore[operator]
    for n in range(3):
        queue.publish("t", b"{}", {"source": "s", "delivery_id": str(n)})
    assert _one(queue.lease_batch("t", 1))
    wait = queue.lease_batch("t", 1)
    assert wait == pytest.approx(0.05)
    clock.now += 0.05
    assert _one(queue.lease_batch("t", 1))


def test_the_local_queue_backs_off_as_long_as_the_processor_asked(tmp_path: object) -> None:
    clock = _Clock()
    queue = LocalQueue(tmp_path / "q.sqlite3", clock=clock)  # type: ignore[operator]
    queue.publish("t", b"{}", {"source": "s", "delivery_id": "1"})

    def consumer(event: object) -> None:
        raise ProcessorsDeferred({"partner": 30})

    [message] = queue.lease_batch("t", 1)  # type: ignore[misc]
    LocalWorker(queue, "t", consumer)._deliver(message)
    [state] = queue.messages()
    assert state.state == "retrying" and state.next_attempt_at == 1030.0


def test_the_local_queue_worker_honours_the_rate_from_the_settings(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """60 messages at RUNRUN_QUEUE_RATE=20: every hand-over to the consumer (on the queue's
    own clock, as the worker read it last before handing the message over) comes at least
    1/20 s after the one before, though the worker leases several at once; the rate seen is
    printed."""
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("RUNRUN_QUEUE_RATE", "20")
    registry = ProcessorRegistry()
    runs: list[str] = []

    @registry.register(name="count")
    def count(delivery: Delivery, runtime: Runtime) -> None:
        runs.append(delivery.delivery_id)

    runtime = Runtime(reload_settings(), processors=registry, store=MemoryStore())
    queue = runtime.publisher
    assert isinstance(queue, LocalQueue) and queue.interval == 0.05
    dispatched: list[float] = []
    leased: list[int] = []
    clock, lease, deliver = queue.clock, queue.lease_batch, LocalWorker._deliver
    seen = {"now": 0.0}

    def recording_clock() -> float:
        seen["now"] = clock()
        return seen["now"]

    # The worker leases only once every message is in: published one fsync at a time on a
    # busy disk, they could otherwise trickle in slower than the rate and come one per lease.
    all_published = threading.Event()

    def recording_lease(topic: str, limit: int) -> list[QueuedMessage] | float:
        all_published.wait()
        found = lease(topic, limit)
        if isinstance(found, list) and found:
            leased.append(len(found))
        return found

    def recording_deliver(worker: LocalWorker, message: QueuedMessage) -> bool:
        dispatched.append(seen["now"])  # the worker's own reading that let it hand over
        return deliver(worker, message)

    queue.clock = recording_clock
    queue.lease_batch = recording_lease  # type: ignore[method-assign]
    monkeypatch.setattr(LocalWorker, "_deliver", recording_deliver)
    total = 60
    with queue.changed:
        for n in range(total):
            queue.publish(
                runtime.settings.queue.topic, b"{}", {"source": "s", "delivery_id": str(n)}
            )
        all_published.set()
        assert queue.changed.wait_for(lambda: len(runs) == total, timeout=120)
    runtime.stop()
    gaps = [later - earlier for earlier, later in zip(dispatched, dispatched[1:], strict=False)]
    assert min(gaps) >= 0.05 - 1e-9
    assert max(leased) > 1, "under the rate limit the worker still leases several at once"
    rate = (total - 1) / (dispatched[-1] - dispatched[0])
    from tests.support.reliability_kit import report

    report(request, "local queue rate limit 20/s", {"messages": total, "dispatches per s": rate})
