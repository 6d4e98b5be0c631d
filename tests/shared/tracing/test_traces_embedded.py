"""Traces on the embedded backends, in process: a signed delivery through functions-framework's
own app for `github_webhook`, handed to the local queue and run by its worker thread, makes one
trace (the SDK's in-memory exporter reads it), joined to the caller's trace when it sent one.

    receive github_webhook -> verify, hand off -> process github_webhook -> run <processor>
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from functions.processors import registry
from shared import Delivery, Runtime, install_runtime, reload_settings, stop_runtime
from tests.support.otlp_receiver import ReceivedSpan
from tests.support.pubsub_util import SECRET, github_headers, make_app, push_body, wait_for
from tests.support.traces_kit import (
    CALLER_SPAN,
    CALLER_TRACE,
    TRACEPARENT,
    attribute_problems,
    check_one_trace,
    from_sdk,
    of_delivery,
)

PROCESSOR = "traced-test-processor"


class Runs:
    """A processor that records the deliveries it ran."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []

    def __call__(self, delivery: Delivery, runtime: Runtime) -> None:
        with self.lock:
            self.ids.append(delivery.delivery_id)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Runs:
    monkeypatch.setattr(registry, "_registrations", list(registry._registrations))
    runs = Runs()
    registry.register(name=PROCESSOR)(runs)
    return runs


@pytest.fixture
def exporter(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemorySpanExporter]:
    """Traces on, on the embedded backends, into the SDK's in-memory exporter."""
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("RUNRUN_DEPLOY_VIA", "topic")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("RUNRUN_TRACES", "otlp")  # the exporter given below replaces OTLP's
    exporter = InMemorySpanExporter()
    install_runtime(Runtime(reload_settings(), span_exporter=exporter).start())
    yield exporter
    stop_runtime()


@pytest.fixture
def github(exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch) -> flask.Flask:
    return make_app("github_webhook", monkeypatch)


def deliver(
    app: flask.Flask, delivery_id: str, extra: dict[str, str] | None = None, body: bytes = b""
) -> int:
    body = body or push_body(ref="refs/heads/feature")
    headers = {**github_headers(body, delivery_id), **(extra or {})}
    return int(app.test_client().post("/", data=body, headers=headers).status_code)


def spans_after(exporter: InMemorySpanExporter) -> list[ReceivedSpan]:
    """Every span, once the runtime stopped: its worker finished, its spans exported."""
    stop_runtime()
    return from_sdk(exporter.get_finished_spans())


def test_a_delivery_is_one_trace_from_the_callers_request_to_every_processor_run(
    github: flask.Flask, exporter: InMemorySpanExporter, runs: Runs
) -> None:
    delivery_id = str(uuid.uuid4())

    assert deliver(github, delivery_id, {"traceparent": TRACEPARENT}) == 200
    wait_for(lambda: delivery_id in runs.ids, "the worker to run the processor")
    trace = of_delivery(spans_after(exporter), delivery_id)

    named = check_one_trace(trace, delivery_id, {PROCESSOR, "store"})
    receive = named["receive github_webhook"]
    assert receive.trace_id == CALLER_TRACE and receive.parent_span_id == CALLER_SPAN
    assert receive.attributes["runrun.outcome"] == "accepted"
    assert receive.attributes["http.response.status_code"] == 200
    assert receive.attributes["runrun.event_type"] == "push"
    # Store and queue are one SQLite file here: claim, message and completion are one
    # transaction, which the hand-off span covers (no claim span of its own).
    assert named["hand off"].attributes["runrun.route"] == "intake"
    assert named[f"run {PROCESSOR}"].attributes["runrun.outcome"] == "ran"
    assert attribute_problems(trace, [SECRET, "refs/heads/feature"]) == []


def test_cloud_runs_trace_header_is_honoured(
    github: flask.Flask, exporter: InMemorySpanExporter, runs: Runs
) -> None:
    delivery_id = str(uuid.uuid4())
    trace_id, span_id = "105445aa7843bc8bf206b12000100000", 1234567890123

    header = {"X-Cloud-Trace-Context": f"{trace_id}/{span_id};o=1"}
    assert deliver(github, delivery_id, header) == 200
    wait_for(lambda: delivery_id in runs.ids, "the worker to run the processor")
    trace = of_delivery(spans_after(exporter), delivery_id)

    receive = check_one_trace(trace, delivery_id, {PROCESSOR})["receive github_webhook"]
    assert receive.trace_id == trace_id
    assert receive.parent_span_id == f"{span_id:016x}"


def test_without_trace_context_a_delivery_starts_its_own_trace(
    github: flask.Flask, exporter: InMemorySpanExporter, runs: Runs
) -> None:
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    assert deliver(github, first) == 200
    assert deliver(github, second, body=push_body(ref="refs/heads/other")) == 200
    wait_for(lambda: {first, second} <= set(runs.ids), "the worker to run both")
    spans = spans_after(exporter)

    traces = [of_delivery(spans, delivery_id) for delivery_id in (first, second)]
    for trace, delivery_id in zip(traces, (first, second), strict=True):
        receive = check_one_trace(trace, delivery_id, {PROCESSOR})["receive github_webhook"]
        assert receive.parent_span_id == ""
    assert traces[0][0].trace_id != traces[1][0].trace_id


def test_a_duplicate_is_a_trace_of_its_own_that_replays(
    github: flask.Flask, exporter: InMemorySpanExporter, runs: Runs
) -> None:
    delivery_id = str(uuid.uuid4())

    assert deliver(github, delivery_id) == 200
    wait_for(lambda: delivery_id in runs.ids, "the worker to run the processor")
    assert deliver(github, delivery_id) == 200
    spans = spans_after(exporter)

    receives = [s for s in spans if s.attributes.get("runrun.delivery_id") == delivery_id]
    outcomes = sorted(
        s.attributes["runrun.outcome"] for s in receives if s.name == "receive github_webhook"
    )
    assert outcomes == ["accepted", "replayed"]
    assert runs.ids == [delivery_id]


def test_a_bad_signature_is_a_rejected_request_span_with_a_failed_verify(
    github: flask.Flask, exporter: InMemorySpanExporter
) -> None:
    body = push_body()
    headers = github_headers(body, "bad-one", secret="not the secret")

    status = github.test_client().post("/", data=body, headers=headers).status_code
    spans = spans_after(exporter)

    assert status == 401
    (receive,) = [s for s in spans if s.name == "receive github_webhook"]
    (verify,) = [s for s in spans if s.name == "verify"]
    assert receive.attributes["runrun.outcome"] == "rejected"
    assert receive.attributes["http.response.status_code"] == 401
    assert verify.parent_span_id == receive.span_id
    assert verify.attributes["error.type"] == "VerificationFailed" and verify.status_code == 2
    assert not [s for s in spans if s.name == "hand off"]
    assert attribute_problems(spans, [SECRET, headers["X-Hub-Signature-256"]]) == []
