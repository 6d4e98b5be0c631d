"""The processing side on a runtime of the test's own: independent processors, retries of
the failed ones only, and process_delivery's own parsing of its envelope (one clear 400)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import flask
import pytest

from shared import (
    BackendUnavailable,
    Delivery,
    MemoryPublisher,
    ProcessorRegistry,
    ProcessorsFailed,
    Runtime,
    process_push,
    reload_settings,
)
from shared.backends.handoff import PublishedMessage
from shared.backends.idempotency import MemoryStore
from shared.processing import Registration
from shared.settings import ConfigError, Settings


def _delivery_event(delivery_id: str) -> dict[str, object]:
    delivery = Delivery("github_webhook", delivery_id, "push", "application/json", "", b"{}")
    data = base64.b64encode(delivery.data).decode()
    return {"message": {"data": data, "attributes": delivery.attributes(), "messageId": "1"}}


@pytest.fixture
def runs() -> dict[str, int]:
    return {"relay": 0, "store": 0}


@pytest.fixture
def runtime(runs: dict[str, int]) -> Iterator[Runtime]:
    registry = ProcessorRegistry()
    relay_down = {"on": True}

    @registry.register(name="relay")
    def relay(delivery: Delivery, runtime: Runtime) -> None:
        runs["relay"] += 1
        if relay_down["on"]:
            raise ConnectionError("relay endpoint is down")

    @registry.register(name="store")
    def store(delivery: Delivery, runtime: Runtime) -> None:
        runs["store"] += 1

    built = Runtime(
        reload_settings(),
        processors=registry,
        publisher=MemoryPublisher(),
        store=MemoryStore(),
    )
    built.relay_down = relay_down  # type: ignore[attr-defined]
    yield built
    built.stop()


def test_a_failing_processor_keeps_no_other_from_running(
    runtime: Runtime, runs: dict[str, int]
) -> None:
    event = _delivery_event("d-1")
    with pytest.raises(ProcessorsFailed) as failed:
        runtime.process(event)
    assert failed.value.failures == {"relay": "ConnectionError"}
    assert runs == {"relay": 1, "store": 1}
    # The redelivery runs only what failed; once it succeeds, nothing runs again.
    runtime.relay_down["on"] = False  # type: ignore[attr-defined]
    runtime.process(event)
    runtime.process(event)
    assert runs == {"relay": 2, "store": 1}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"[1, 2]", "not a JSON object"),
        (b"{nope", "not valid JSON"),
        (b'{"subscription": "s"}', "neither a CloudEvent nor a Pub/Sub push envelope"),
    ],
)
def test_process_delivery_parses_its_own_envelope(
    runtime: Runtime, body: bytes, reason: str
) -> None:
    app = flask.Flask("process")
    with app.test_request_context("/", method="POST", data=body, content_type="application/json"):
        answer = process_push(flask.request, runtime)
    assert answer.status_code == 400
    assert reason in json.loads(answer.get_data())["error"]


def test_a_push_envelope_is_processed_and_a_failure_is_500_naming_it(runtime: Runtime) -> None:
    app = flask.Flask("process")
    body = json.dumps({**_delivery_event("d-2"), "subscription": "projects/p/subscriptions/s"})
    with app.test_request_context("/", method="POST", data=body, content_type="application/json"):
        answer = process_push(flask.request, runtime)
    assert answer.status_code == 500
    assert json.loads(answer.get_data()) == {"error": "processors failed: relay (ConnectionError)"}
    runtime.relay_down["on"] = False  # type: ignore[attr-defined]
    with app.test_request_context("/", method="POST", data=body, content_type="application/json"):
        assert process_push(flask.request, runtime).status_code == 200


def test_the_memory_publisher_keeps_what_was_published_or_plays_a_queue_that_is_down() -> None:
    publisher = MemoryPublisher()
    publisher.publish("t", b"{}", {"a": "1"})
    assert [(m.topic, m.data, m.attributes) for m in publisher.on_topic("t")] == [
        ("t", b"{}", {"a": "1"})
    ]

    def down(message: PublishedMessage) -> str:
        raise BackendUnavailable("queue unavailable", retry_after=3)

    failing = MemoryPublisher(down)
    with pytest.raises(BackendUnavailable):
        failing.publish("t", b"{}", {})
    assert failing.attempts == 1 and failing.published == []


def test_a_processors_own_settings_are_checked_at_start() -> None:
    """A processor's settings block is read when the runtime starts, not at its first run."""

    def unreadable(settings: Settings) -> None:
        raise ConfigError("RUNRUN_PARTNER_TIMEOUT must be a number, got 'soon'")

    registry = ProcessorRegistry([Registration("partner", lambda d, c: None, settings=unreadable)])
    runtime = Runtime(
        reload_settings(), processors=registry, publisher=MemoryPublisher(), store=MemoryStore()
    )
    with pytest.raises(ConfigError, match="RUNRUN_PARTNER_TIMEOUT"):
        runtime.start()
    runtime.stop()
