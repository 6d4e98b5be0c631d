"""The notify processor: a contract test of our use of the official firebase-admin SDK.

The SDK runs unchanged against tests/support/fcm_standin.py (a local FCM v1 stand-in, not an
emulator): it signs its own OAuth JWT with the service-account key, exchanges it at the
stand-in's token_uri, and sends; each test asserts the exact requests it sent and what the
processing side made of FCM's answers.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from functions.processors import registry
from shared import (
    ConfigError,
    Delivery,
    Observer,
    ProcessorsFailed,
    RunReport,
    Runtime,
    current_runtime,
    install_runtime,
    reload_settings,
)
from shared._delivery import message_published_event
from shared.processors.notify import NotifySettings
from tests.support.fcm_standin import CLIENT_EMAIL, PROJECT, TOKEN, FcmStandIn, fcm_error

STRIPE_ROUTE = {
    "target": "stripe_webhook",
    "event": "invoice.paid",
    "topic": "billing",
    "title": "Invoice paid",
    "body": "{data.object.amount_paid} {data.object.currency}",
    "data": {"invoice": "{data.object.id}"},
}
GITHUB_ROUTE = {
    "target": "github_webhook",
    "event": "push",
    "topic": "repo-{repository.name}",
    "title": "Push to {repository.full_name}",
    "body": "{head_commit.message}",
}
DEVICES_ROUTE = {
    "target": "generic_webhook",
    "event": "*",
    "fid": "{devices}",
    "body": "{text}",
}


def invoice(invoice_id: str = "in_1", amount: int = 2000) -> dict[str, Any]:
    return {
        "id": "evt_1",
        "type": "invoice.paid",
        "data": {"object": {"id": invoice_id, "amount_paid": amount, "currency": "usd"}},
    }


def delivery(source: str, event_type: str, payload: Any, delivery_id: str = "d-1") -> Delivery:
    return Delivery(
        source=source,
        delivery_id=delivery_id,
        event_type=event_type,
        content_type="application/json",
        received_at="2030-01-01T00:00:00.000Z",
        data=json.dumps(payload).encode(),
    )


class Runs(Observer):
    """What the processing side reported of each processor run (as the inspector hears it)."""

    def __init__(self) -> None:
        self.reports: list[RunReport] = []

    def run(self, report: RunReport) -> None:
        self.reports.append(report)

    def of(self, processor: str) -> list[tuple[str, str | None]]:
        return [(r.outcome, r.error) for r in self.reports if r.processor == processor]


@pytest.fixture
def runs() -> Runs:
    return Runs()


def start_runtime(runs: Runs) -> Runtime:
    """A runtime on the settings of the moment, reporting to `runs` (the previous one stops)."""
    return install_runtime(Runtime(reload_settings(), observers=[runs]).start())


def process(item: Delivery) -> None:
    attributes, data = message_published_event(
        project="p", topic="t", message_id="1", publish_time="2030-01-01T00:00:00Z", delivery=item
    )
    current_runtime().process(CloudEvent(attributes, data))


@pytest.fixture
def routed(fcm: FcmStandIn, monkeypatch: pytest.MonkeyPatch, runs: Runs) -> FcmStandIn:
    monkeypatch.setenv("RUNRUN_NOTIFY_ROUTES", json.dumps([STRIPE_ROUTE, GITHUB_ROUTE]))
    start_runtime(runs)
    return fcm


def test_invoice_paid_sends_exactly_this_request(routed: FcmStandIn) -> None:
    process(delivery("stripe_webhook", "invoice.paid", invoice()))

    # The SDK's own OAuth exchange: a JWT bearer assertion signed with the key file's key.
    [token] = routed.token_requests
    assert token["form"]["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    assert token["claims"]["iss"] == CLIENT_EMAIL
    # google-auth signs for Google's token audience even when posting to another token_uri.
    assert token["claims"]["aud"] == "https://oauth2.googleapis.com/token"
    assert "https://www.googleapis.com/auth/cloud-platform" in token["claims"]["scope"].split()
    [sent] = routed.requests
    assert sent.path == f"/v1/projects/{PROJECT}/messages:send"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["x-goog-api-format-version"] == "2"
    assert sent.body == {
        "message": {
            "topic": "billing",
            "notification": {"title": "Invoice paid", "body": "2000 usd"},
            "data": {"invoice": "in_1", "runrun_delivery_id": "d-1"},
            # One collapse identifier per delivery: a second send replaces the first on
            # the device instead of adding another.
            "android": {"notification": {"tag": "d-1"}},
            "apns": {"headers": {"apns-collapse-id": "d-1"}},
            "webpush": {"notification": {"tag": "d-1"}},
        }
    }


def test_github_push_goes_to_the_repository_topic(routed: FcmStandIn) -> None:
    push = {
        "ref": "refs/heads/topic",
        "repository": {"name": "widgets", "full_name": "acme/widgets"},
        "head_commit": {"message": "Fix the frobnicator"},
    }
    process(delivery("github_webhook", "push", push))

    assert routed.messages() == [
        {
            "topic": "repo-widgets",
            "notification": {"title": "Push to acme/widgets", "body": "Fix the frobnicator"},
            "data": {"runrun_delivery_id": "d-1"},
            "android": {"notification": {"tag": "d-1"}},
            "apns": {"headers": {"apns-collapse-id": "d-1"}},
            "webpush": {"notification": {"tag": "d-1"}},
        }
    ]


def test_unrouted_events_send_nothing(routed: FcmStandIn) -> None:
    process(delivery("stripe_webhook", "invoice.created", invoice()))
    process(delivery("slack_events", "message", {"text": "hi"}, "d-2"))
    assert routed.requests == []


def test_dry_run_asks_fcm_to_validate_only(
    routed: FcmStandIn, monkeypatch: pytest.MonkeyPatch, runs: Runs
) -> None:
    monkeypatch.setenv("RUNRUN_NOTIFY_DRY_RUN", "true")
    start_runtime(runs)
    process(delivery("stripe_webhook", "invoice.paid", invoice()))
    [sent] = routed.requests
    assert sent.body["validate_only"] is True
    assert routed.accepted_messages() == []


def test_a_redelivery_does_not_notify_twice(routed: FcmStandIn) -> None:
    item = delivery("stripe_webhook", "invoice.paid", invoice())
    process(item)
    process(item)
    assert len(routed.requests) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (fcm_error(429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"), "QuotaExceededError"),
        # The SDK retries 500 and 503 itself (4 times, with backoff) before giving up.
        (fcm_error(503, "UNAVAILABLE", "UNAVAILABLE"), "UnavailableError"),
        (fcm_error(500, "INTERNAL", "INTERNAL"), "InternalError"),
    ],
)
def test_transient_errors_raise_so_the_queue_redelivers(
    routed: FcmStandIn, runs: Runs, answer: Any, error: str
) -> None:
    routed.answer = lambda n, body: answer
    item = delivery("stripe_webhook", "invoice.paid", invoice())
    with pytest.raises(ProcessorsFailed) as raised:
        process(item)
    assert raised.value.failures == {"notify": error}
    assert runs.of("store") == [("ran", None)]  # the other processors ran all the same
    attempts = len(routed.requests)
    assert attempts == (1 if error == "QuotaExceededError" else 5)

    # The claim was released: the redelivery sends again, and FCM now accepts it.
    routed.answer = lambda n, body: None
    process(item)
    assert len(routed.accepted_messages()) == 1
    assert runs.of("notify") == [("failed", error), ("ran", None)]


def test_invalid_argument_is_permanent_and_not_retried(
    routed: FcmStandIn, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    routed.answer = lambda n, body: fcm_error(400, "INVALID_ARGUMENT", "INVALID_ARGUMENT")
    item = delivery("stripe_webhook", "invoice.paid", invoice())
    with caplog.at_level(logging.ERROR, logger="runrun.process"):
        process(item)  # no exception: the queue acknowledges it
    process(item)  # a redelivery does not ask FCM again

    assert len(routed.requests) == 1
    [record] = [
        r for r in caplog.records if r.getMessage() == "processor failed permanently: not retried"
    ]
    assert record.__dict__["processor"] == "notify"
    assert "INVALID_ARGUMENT" in record.__dict__["reason"]
    # Reported as failed (the inspector shows it), then skipped: its claim was completed.
    assert runs.of("notify") == [("failed", "PermanentFailure"), ("skipped", None)]
    assert runs.of("store") == [("ran", None), ("skipped", None)]


def test_a_payload_without_the_routed_field_is_permanent(routed: FcmStandIn) -> None:
    process(delivery("stripe_webhook", "invoice.paid", {"type": "invoice.paid"}))
    assert routed.requests == []


def test_unregistered_tokens_are_reported_and_dropped(
    fcm: FcmStandIn, monkeypatch: pytest.MonkeyPatch, runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("RUNRUN_NOTIFY_ROUTES", json.dumps([DEVICES_ROUTE]))
    start_runtime(runs)
    gone = fcm_error(404, "NOT_FOUND", "UNREGISTERED")
    fcm.answer = lambda n, body: gone if body["message"]["fid"] == "old" else None
    item = delivery("generic_webhook", "note", {"devices": ["a", "old", "b"], "text": "hello"})

    with caplog.at_level(logging.WARNING, logger="runrun.notify"):
        process(item)
    process(item)  # done: the dropped token is not retried

    assert sorted(m["fid"] for m in fcm.messages()) == ["a", "b", "old"]
    assert sorted(m["fid"] for m in fcm.accepted_messages()) == ["a", "b"]
    dropped = "dropped unregistered FCM app instances"
    [report] = [r for r in caplog.records if r.getMessage() == dropped]
    assert report.__dict__["count"] == 1


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("not json", "RUNRUN_NOTIFY_ROUTES: not valid JSON"),
        ("[]", "must be a non-empty JSON list"),
        (
            '[{"target": "stripe_webhook", "event": "x", "title": "t"}]',
            "entry 0 (stripe_webhook x)",
        ),
        (
            json.dumps([STRIPE_ROUTE, {**GITHUB_ROUTE, "condition": "'a' in topics"}]),
            "entry 1 (github_webhook push): needs exactly one of topic, condition, fid",
        ),
        (
            json.dumps([{**STRIPE_ROUTE, "topic": "bad topic"}]),
            "entry 0 (stripe_webhook invoice.paid): 'bad topic' is not a valid FCM topic name",
        ),
        (
            json.dumps([{**STRIPE_ROUTE, "body": "{data..amount}"}]),
            "entry 0 (stripe_webhook invoice.paid): body has a bad placeholder",
        ),
        (json.dumps([STRIPE_ROUTE, STRIPE_ROUTE]), "entry 1 (stripe_webhook invoice.paid)"),
        (json.dumps([{**STRIPE_ROUTE, "titel": "x"}]), "unknown key(s) titel"),
    ],
)
def test_a_bad_table_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, table: str, message: str
) -> None:
    monkeypatch.setenv("RUNRUN_NOTIFY_ROUTES", table)
    with pytest.raises(ConfigError) as refused:  # the check a server makes before serving
        Runtime(reload_settings(), processors=registry).check()
    assert message in str(refused.value)
    monkeypatch.delenv("RUNRUN_NOTIFY_ROUTES")  # the fixture's teardown reads settings again


def test_the_table_can_come_from_a_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    path = tmp_path / "routes.json"
    path.write_text(json.dumps([STRIPE_ROUTE, {"target": "x", "event": "*"}]))
    monkeypatch.setenv("RUNRUN_NOTIFY_ROUTES_FILE", str(path))
    with pytest.raises(ConfigError) as refused:
        Runtime(reload_settings(), processors=registry).check()
    assert str(refused.value).startswith(f"RUNRUN_NOTIFY_ROUTES_FILE ({path}): entry 1 (x *)")

    path.write_text(json.dumps([STRIPE_ROUTE]))
    assert [r.target for r in NotifySettings.from_env(reload_settings()).routes] == [
        "stripe_webhook"
    ]


def test_notify_is_off_until_a_table_is_set() -> None:
    item = delivery("stripe_webhook", "invoice.paid", invoice())
    runtime = Runtime(reload_settings(), processors=registry)
    enabled = [r.name for r in registry.matching(item) if runtime.enabled(r)]
    assert "notify" not in enabled
