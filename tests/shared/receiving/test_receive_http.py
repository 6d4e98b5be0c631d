"""The HTTP behaviour of every receiving target on the embedded backends (SQLite store,
local queue), driven through functions-framework's own app and Flask's test client."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import functions_framework
import pytest
from flask.testing import FlaskClient

from shared import (
    BackendUnavailable,
    MemoryPublisher,
    Runtime,
    current_runtime,
    get_settings,
    install_runtime,
    reload_settings,
    stop_runtime,
)
from shared._log import CloudLoggingFormatter, configure_logging
from shared.backends.handoff import LocalQueue, PublishedMessage
from shared.backends.idempotency import document_id
from tests.support.helpers import hex_hmac

ROOT = Path(__file__).resolve().parents[3]

SECRETS = {
    "generic_webhook": ("WEBHOOK_SECRET", "generic-http-secret-5150"),
    "github_webhook": ("GITHUB_WEBHOOK_SECRET", "github-http-secret-6160"),
    "stripe_webhook": ("STRIPE_WEBHOOK_SECRET", "whsec_stripehttpsecret7170"),
    "slack_events": ("SLACK_SIGNING_SECRET", "slack-http-secret-8180"),
}
TARGETS = sorted(SECRETS)

Headers = dict[str, str]


# --- Signing, as each provider documents it ------------------------------------------------


def sign(target: str, body: bytes, secret: str | None = None) -> Headers:
    """The authentication headers `target`'s provider would send with `body`."""
    secret = secret if secret is not None else SECRETS[target][1]
    stamp = int(time.time())
    if target == "github_webhook":
        return {"X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body)}
    if target == "stripe_webhook":
        signature = hex_hmac(secret, f"{stamp}.".encode() + body)
        return {"Stripe-Signature": f"t={stamp},v1={signature}"}
    if target == "slack_events":
        signature = "v0=" + hex_hmac(secret, f"v0:{stamp}:".encode() + body)
        return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": signature}
    return {"Secret": secret}


def event(target: str, key: str, **fields: Any) -> tuple[dict[str, Any], Headers]:
    """A typical event body for `target` identified by `key`, and its non-auth headers."""
    if target == "github_webhook":
        body = {"action": "opened", "issue": {"number": 1}, **fields}
        return body, {"X-GitHub-Delivery": key, "X-GitHub-Event": "issues"}
    if target == "stripe_webhook":
        return {"id": key, "object": "event", "type": "charge.succeeded", **fields}, {}
    if target == "slack_events":
        body = {"type": "event_callback", "event_id": key, "event": {"type": "message"}}
        return {**body, **fields}, {}
    return {"id": key, "type": "thing.happened", **fields}, {}


# --- Fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apps() -> dict[str, flask.Flask]:
    source = str(ROOT / "main.py")
    return {target: functions_framework.create_app(target, source=source) for target in TARGETS}


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.values():
        monkeypatch.setenv(name, value)


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set environment variables that Settings reads, and read them again."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        reload_settings()

    return apply


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, str]]:
    """Attributes of every delivery the receivers put on the queue (the queue still runs)."""
    seen: list[dict[str, str]] = []
    real = LocalQueue.publish

    def spy(self: LocalQueue, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        message_id = real(self, topic, data, attributes)
        if "source" in attributes:  # deliveries, not the processors' own commands
            seen.append(attributes)
        return message_id

    real_insert = LocalQueue.insert_with

    def insert_spy(conn: sqlite3.Connection, topic: str, data: bytes, attributes: str) -> str:
        # The embedded intake writes a delivery's message inside its own transaction.
        message_id = real_insert(conn, topic, data, attributes)
        seen.append(json.loads(attributes))
        return message_id

    monkeypatch.setattr(LocalQueue, "publish", spy)
    monkeypatch.setattr(LocalQueue, "insert_with", staticmethod(insert_spy))
    return seen


class Client:
    def __init__(self, apps: dict[str, flask.Flask]) -> None:
        self.apps = apps
        self._clients: dict[str, FlaskClient] = {}

    def raw(self, target: str) -> FlaskClient:
        if target not in self._clients:
            self._clients[target] = self.apps[target].test_client()
        return self._clients[target]

    def post(
        self,
        target: str,
        body: bytes | dict[str, Any] | list[Any],
        headers: Headers | None = None,
        *,
        signed: bool = True,
        content_type: str = "application/json",
    ) -> flask.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {**(headers or {}), **(sign(target, raw) if signed else {})}
        return self.raw(target).post("/", data=raw, content_type=content_type, headers=sent)

    def deliver(self, target: str, key: str, **fields: Any) -> flask.Response:
        body, headers = event(target, key, **fields)
        return self.post(target, body, headers)


@pytest.fixture
def client(apps: dict[str, flask.Flask]) -> Client:
    return Client(apps)


class CurrentStdout:
    """Writes to whatever sys.stdout is when a line is logged (capsys swaps it per phase)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@pytest.fixture
def log_out(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Everything written to stdout and stderr. The JSON log handler keeps the stdout it was
    configured with, so it is pointed at the stdout of the moment instead. Logging starts
    with the process's start (a worker's first request, or runrun's hook), not at import: it
    is started here as that start would."""
    configure_logging()
    handlers = [
        h
        for h in logging.getLogger("runrun").handlers
        if isinstance(h.formatter, CloudLoggingFormatter)
    ]
    assert handlers, "configure_logging() installed no JSON handler on 'runrun'"
    for handler in handlers:
        monkeypatch.setattr(handler, "stream", CurrentStdout())
    yield capsys
    # The local queue's worker logs as it processes: let it finish while output is captured.
    stop_runtime()


def json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def receive_lines(text: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(text) if line.get("logger") == "runrun.receive"]


def error_of(response: flask.Response) -> str:
    assert response.mimetype == "application/json", response.get_data(as_text=True)
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}
    assert isinstance(body["error"], str)
    return body["error"]


# --- Method, content type, size -------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_405_with_allow(client: Client, target: str, method: str) -> None:
    response = client.raw(target).open("/", method=method, json={"id": "x"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert method in error_of(response)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "", "text/json"],
)
def test_non_json_content_type_is_415(client: Client, target: str, content_type: str) -> None:
    body, headers = event(target, "ct-1")
    response = client.post(target, body, headers, content_type=content_type)
    assert response.status_code == 415
    assert "application/json" in error_of(response)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/x+json"])
def test_json_content_types_are_accepted(client: Client, target: str, content_type: str) -> None:
    body, headers = event(target, f"ct-{content_type}")
    response = client.post(target, body, headers, content_type=content_type)
    assert response.status_code == 200, response.get_data(as_text=True)


def padded(target: str, key: str, size: int) -> tuple[bytes, Headers]:
    """A valid event body of exactly `size` bytes (JSON allows trailing whitespace)."""
    body, headers = event(target, key)
    raw = json.dumps(body).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw)), headers


@pytest.mark.parametrize("target", TARGETS)
def test_body_over_limit_with_content_length_is_413(
    client: Client, target: str, settings: Callable[..., None]
) -> None:
    settings(RUNRUN_MAX_BODY_BYTES="1024")
    raw, headers = padded(target, "big-1", 1025)
    response = client.post(target, raw, headers)
    assert response.status_code == 413
    assert "1024" in error_of(response)
    assert response.headers.get("Connection") == "close"


@pytest.mark.parametrize("target", TARGETS)
def test_body_at_limit_is_accepted(
    client: Client, target: str, settings: Callable[..., None]
) -> None:
    settings(RUNRUN_MAX_BODY_BYTES="1024")
    raw, headers = padded(target, "limit-1", 1024)
    response = client.post(target, raw, headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def post_chunked(client: Client, target: str, raw: bytes, headers: Headers) -> flask.Response:
    """A streamed body without Content-Length, as a server that decodes chunked transfer
    encoding (gunicorn, the Functions runtime) hands it over: wsgi.input_terminated set."""
    return client.raw(target).post(
        "/",
        input_stream=io.BytesIO(raw),
        content_type="application/json",
        headers={**headers, **sign(target, raw), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("size", [1025, 1024 + 64 * 1024, 1024 * 1024])
def test_streamed_body_over_limit_is_413(
    client: Client, target: str, size: int, settings: Callable[..., None]
) -> None:
    settings(RUNRUN_MAX_BODY_BYTES="1024")
    raw, headers = padded(target, "stream-big", size)
    response = post_chunked(client, target, raw, headers)
    assert response.status_code == 413, response.get_data(as_text=True)
    assert "1024" in error_of(response)
    assert response.headers.get("Connection") == "close"


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("size", [200, 1024])
def test_streamed_body_within_limit_is_accepted(
    client: Client, target: str, size: int, settings: Callable[..., None]
) -> None:
    settings(RUNRUN_MAX_BODY_BYTES="1024")
    raw, headers = padded(target, f"stream-{size}", size)
    response = post_chunked(client, target, raw, headers)
    assert response.status_code == 200, response.get_data(as_text=True)


# --- Body and delivery id --------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"a": }', b"\xff\xfe", b""])
def test_invalid_json_after_verification_is_400(client: Client, target: str, raw: bytes) -> None:
    response = client.post(target, raw)
    assert response.status_code == 400
    assert "JSON" in error_of(response)


@pytest.mark.parametrize("target", TARGETS)
def test_invalid_json_without_signature_is_401(client: Client, target: str) -> None:
    response = client.post(target, b"not json", signed=False)
    assert response.status_code == 401


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("raw", [b"[]", b'[{"id": "a"}]', b'"text"', b"1", b"null", b"true"])
def test_json_not_an_object_is_400(client: Client, target: str, raw: bytes) -> None:
    response = client.post(target, raw)
    assert response.status_code == 400
    assert "object" in error_of(response)


@pytest.mark.parametrize(
    ("target", "body", "headers", "named"),
    [
        ("github_webhook", {"action": "opened"}, {"X-GitHub-Event": "issues"}, "X-GitHub-Delivery"),
        (
            "github_webhook",
            {"action": "opened"},
            {"X-GitHub-Event": "issues", "X-GitHub-Delivery": "  "},
            "X-GitHub-Delivery",
        ),
        ("stripe_webhook", {"type": "charge.succeeded"}, {}, "id"),
        ("stripe_webhook", {"id": "", "type": "charge.succeeded"}, {}, "id"),
        ("stripe_webhook", {"id": None, "type": "charge.succeeded"}, {}, "id"),
        ("stripe_webhook", {"id": {"nested": 1}, "type": "charge.succeeded"}, {}, "id"),
        ("slack_events", {"type": "event_callback", "event": {}}, {}, "event_id"),
        ("slack_events", {"type": "event_callback", "event_id": True}, {}, "event_id"),
    ],
)
def test_missing_delivery_id_is_400_naming_it(
    client: Client, target: str, body: dict[str, Any], headers: Headers, named: str
) -> None:
    response = client.post(target, body, headers)
    assert response.status_code == 400
    message = error_of(response)
    assert "delivery id" in message and named in message


@pytest.mark.parametrize("target", TARGETS)
def test_delivery_id_too_long_is_400(client: Client, target: str) -> None:
    response = client.deliver(target, "k" * 513)
    assert response.status_code == 400
    assert "delivery id" in error_of(response)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("value", [None, "", " , "])
def test_secret_not_configured_is_a_clear_error(
    client: Client, target: str, value: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    name, secret = SECRETS[target]
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    body, headers = event(target, "unconfigured")
    response = client.post(target, body, headers)
    assert response.status_code == 500
    message = error_of(response)
    assert name in message and "not set" in message
    assert secret not in response.get_data(as_text=True)


# --- Idempotency and handoff ------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_new_delivery_is_accepted_and_handed_off(
    client: Client, target: str, published: list[dict[str, str]]
) -> None:
    response = client.deliver(target, "new-1")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == {"status": "accepted", "delivery_id": "new-1"}
    assert "Idempotent-Replayed" not in response.headers
    assert [(m["source"], m["delivery_id"]) for m in published] == [(target, "new-1")]


@pytest.mark.parametrize("target", TARGETS)
def test_duplicate_replays_the_same_answer(
    client: Client, target: str, published: list[dict[str, str]]
) -> None:
    first = client.deliver(target, "dup-1")
    second = client.deliver(target, "dup-1")
    assert first.status_code == 200
    assert second.status_code == first.status_code
    assert second.get_data() == first.get_data()
    assert second.mimetype == first.mimetype
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(published) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_same_key_different_payload_is_422(
    client: Client, target: str, published: list[dict[str, str]]
) -> None:
    assert client.deliver(target, "mismatch-1").status_code == 200
    response = client.deliver(target, "mismatch-1", extra="changed")
    assert response.status_code == 422
    assert "mismatch-1" in error_of(response)
    assert len(published) == 1


@pytest.mark.parametrize("target", TARGETS)
def test_claim_in_progress_is_409_with_retry_after(
    client: Client, target: str, published: list[dict[str, str]], settings: Callable[..., None]
) -> None:
    # A duplicate waits for the first attempt within its claim's share of the deadline
    # (half of it): kept short here; the first attempt holds its key for a full lease.
    settings(**{f"RUNRUN_DEADLINE_SECONDS_{target.upper()}": "0.4"})
    body, headers = event(target, "busy-1")
    raw = json.dumps(body).encode()
    claim = current_runtime().idempotency.claim(target, "busy-1", hashlib.sha256(raw).hexdigest())
    response = client.post(target, raw, headers)
    assert response.status_code == 409
    assert int(response.headers["Retry-After"]) >= 1
    assert "busy-1" in error_of(response)
    assert published == []
    # Once the first attempt gives the key back, the retry goes through.
    assert current_runtime().idempotency.release(claim)
    assert client.post(target, raw, headers).status_code == 200


def queue_down(message: PublishedMessage) -> str:
    raise BackendUnavailable("queue unavailable", retry_after=7)


@contextlib.contextmanager
def queue_is_down() -> Iterator[MemoryPublisher]:
    """Run the block on a runtime whose queue refuses every message."""
    failing = MemoryPublisher(queue_down)
    install_runtime(Runtime(get_settings(), publisher=failing))
    try:
        yield failing
    finally:
        stop_runtime()  # the next request builds the runtime the settings name


@pytest.mark.parametrize("target", TARGETS)
def test_queue_failure_is_503_and_releases_the_claim(
    client: Client,
    target: str,
    published: list[dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with queue_is_down() as failing:
        response = client.deliver(target, "down-1")
    assert failing.attempts == 1
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert error_of(response)
    assert current_runtime().idempotency.store.get(document_id(target, "down-1")) is None
    retry = client.deliver(target, "down-1")
    assert retry.status_code == 200
    assert retry.get_json() == {"status": "accepted", "delivery_id": "down-1"}
    assert "Idempotent-Replayed" not in retry.headers
    assert len(published) == 1


# --- Handshakes and ignored events ------------------------------------------------------------


def test_github_ping_is_200_without_handoff(
    client: Client, published: list[dict[str, str]]
) -> None:
    body = {"zen": "Keep it logically awesome.", "hook_id": 1}
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "ping-1"}
    response = client.post("github_webhook", body, headers)
    assert response.status_code == 200
    assert response.get_json() == {"status": "ignored"}
    assert published == []
    assert current_runtime().idempotency.store.get(document_id("github_webhook", "ping-1")) is None


def test_github_ping_unsigned_is_401(client: Client) -> None:
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "ping-2"}
    response = client.post("github_webhook", {"zen": "z"}, headers, signed=False)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"challenge": "x"},
        {"challenge": "x", "type": "url_verification"},
        {"challenge": "x", "type": "url_verification", "token": "legacy"},
    ],
)
def test_generic_challenge_echoed_after_the_secret_check(
    client: Client, body: dict[str, Any], published: list[dict[str, str]]
) -> None:
    response = client.post("generic_webhook", body)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data() == b"x"
    assert published == []


@pytest.mark.parametrize(
    "body", [{"challenge": "x"}, {"challenge": "x", "type": "url_verification"}]
)
def test_generic_challenge_unauthenticated_is_401(client: Client, body: dict[str, Any]) -> None:
    response = client.post("generic_webhook", body, signed=False)
    assert response.status_code == 401
    assert b"x" != response.get_data()
    assert "challenge" not in response.get_data(as_text=True)
    wrong = client.post("generic_webhook", body, {"Secret": "wrong"}, signed=False)
    assert wrong.status_code == 401


def test_generic_body_with_a_challenge_field_among_others_is_a_delivery(
    client: Client, published: list[dict[str, str]]
) -> None:
    response = client.post("generic_webhook", {"id": "c-1", "type": "x", "challenge": "y"})
    assert response.get_json() == {"status": "accepted", "delivery_id": "c-1"}
    assert len(published) == 1


def test_slack_url_verification_signed_echoes_challenge(
    client: Client, published: list[dict[str, str]]
) -> None:
    body = {"token": "legacy", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    body["type"] = "url_verification"
    response = client.post("slack_events", body)
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == body["challenge"]
    assert published == []


def test_slack_url_verification_unsigned_is_401(client: Client) -> None:
    body = {"token": "legacy", "challenge": "abc", "type": "url_verification"}
    assert client.post("slack_events", body, signed=False).status_code == 401


# --- The generic target's idempotency key -----------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Idempotency-Key": "ik", "webhook-id": "wh"}, {"id": "body"}, "ik"),
        ({"webhook-id": "wh"}, {"id": "body"}, "wh"),
        ({"Idempotency-Key": "  ", "webhook-id": "wh"}, {"id": "body"}, "wh"),
        ({}, {"id": "body"}, "body"),
        ({}, {"id": 42}, "42"),
        ({"webhook-id": ""}, {"id": "body"}, "body"),
    ],
    ids=["idempotency-key", "webhook-id", "blank-key", "body-id", "numeric-id", "blank-wh"],
)
def test_generic_key_order(
    client: Client, headers: Headers, body: dict[str, Any], expected: str
) -> None:
    response = client.post("generic_webhook", body, headers)
    assert response.get_json() == {"status": "accepted", "delivery_id": expected}


@pytest.mark.parametrize("body", [{"type": "x"}, {"id": "", "n": 1}, {"id": True}, {}])
def test_generic_key_falls_back_to_body_sha256(client: Client, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    response = client.post("generic_webhook", raw)
    expected = hashlib.sha256(raw).hexdigest()
    assert response.get_json() == {"status": "accepted", "delivery_id": expected}
    again = client.post("generic_webhook", raw)
    assert again.headers["Idempotent-Replayed"] == "true"


# --- Logging --------------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_one_log_line_per_delivery(client: Client, target: str, log_out: Any) -> None:
    log_out.readouterr()
    client.deliver(target, "log-1")
    client.deliver(target, "log-1")
    client.deliver(target, "log-1", extra="changed")
    client.post(target, event(target, "log-2")[0], event(target, "log-2")[1], signed=False)
    lines = receive_lines(log_out.readouterr().out)
    assert [line["outcome"] for line in lines] == ["accepted", "replayed", "rejected", "rejected"]
    for line in lines:
        assert line["target"] == target
        assert isinstance(line["latency_ms"], int | float) and line["latency_ms"] >= 0
        assert line["severity"] == "INFO"
    assert [line.get("delivery_id") for line in lines[:3]] == ["log-1"] * 3
    assert [line["status"] for line in lines] == [200, 200, 422, 401]
    assert "reason" not in lines[0] and "reason" not in lines[1]
    assert "different payload" in lines[2]["reason"]
    assert lines[3]["reason"]


def test_failure_log_line_is_an_error_with_reason(
    client: Client, log_out: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_out.readouterr()
    with queue_is_down():
        client.deliver("stripe_webhook", "evt_log_down")
    lines = receive_lines(log_out.readouterr().out)
    assert len(lines) == 1
    assert lines[0]["severity"] == "ERROR"
    assert lines[0]["outcome"] == "rejected"
    assert lines[0]["reason"] == "queue unavailable"
    assert lines[0]["delivery_id"] == "evt_log_down"


def test_trace_field_names_the_project(
    client: Client, log_out: Any, settings: Callable[..., None]
) -> None:
    settings(GOOGLE_CLOUD_PROJECT="my-project")
    log_out.readouterr()
    body, headers = event("github_webhook", "trace-1")
    headers["X-Cloud-Trace-Context"] = "105445aa7843bc8bf206b12000100000/1;o=1"
    client.post("github_webhook", body, headers)
    (line,) = receive_lines(log_out.readouterr().out)
    assert line["logging.googleapis.com/trace"] == (
        "projects/my-project/traces/105445aa7843bc8bf206b12000100000"
    )
    assert line["logging.googleapis.com/spanId"] == "1"
    assert line["logging.googleapis.com/trace_sampled"] is True


def test_no_trace_field_without_the_header(client: Client, log_out: Any) -> None:
    log_out.readouterr()
    client.deliver("github_webhook", "trace-2")
    (line,) = receive_lines(log_out.readouterr().out)
    assert not any(name.startswith("logging.googleapis.com/") for name in line)


def test_no_secret_or_signature_in_any_log_output(
    client: Client, log_out: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    log_out.readouterr()
    sent: list[str] = []
    for target in TARGETS:
        body, headers = event(target, f"secret-log-{target}")
        raw = json.dumps(body).encode()
        good = sign(target, raw)
        wrong = sign(target, raw, secret="not-the-secret-at-all")
        sent += [*good.values(), *wrong.values()]
        for auth in (good, good, wrong):
            client.raw(target).post(
                "/", data=raw, content_type="application/json", headers={**headers, **auth}
            )
        client.post(target, b"[]")
    with queue_is_down():
        client.deliver("generic_webhook", "secret-log-down")
    captured = log_out.readouterr()
    text = captured.out + captured.err
    assert len(receive_lines(captured.out)) == 4 * 4 + 1
    for _, secret in SECRETS.values():
        assert secret not in text
    for value in sent:
        for part in value.replace(",", " ").replace("=", " ").split():
            if len(part) >= 16:
                assert part not in text
