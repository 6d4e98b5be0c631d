"""One trace per delivery, end to end: a real `python -m runrun serve` process (granian, two
workers) exports OTLP/HTTP to a real receiver (tests/support/otlp_receiver.py), and a signed
GitHub delivery shows there as one trace from its request to every processor run:

- across the local queue (embedded backends: SQLite store and outbox, drained by the
  workers' queue threads), joined to the caller's W3C `traceparent`;
- across the real Pub/Sub emulator (Firestore store; a push subscription POSTs each message
  to the server's /process_delivery), joined to Cloud Run's `X-Cloud-Trace-Context`.

Each waits for the spans themselves (an export wakes the wait); the log lines of the request
and of every processor run carry the same trace and their own span's id. No span carries a
secret, the signature or the body.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulators import Emulators
from tests.support.otlp_receiver import OtlpReceiver, ReceivedSpan, otlp_receiver
from tests.support.pubsub_util import PROJECT, warm_up
from tests.support.reliability_kit import (
    GITHUB_SECRET,
    Sink,
    Topics,
    github_delivery,
    log_lines,
    server_env,
    sink_server,
    start_server,
)
from tests.support.runrun_scenarios.processes import Server, base_env
from tests.support.traces_kit import (
    CALLER_SPAN,
    CALLER_TRACE,
    CONSUMER,
    SERVER,
    TRACEPARENT,
    attribute_problems,
    check_one_trace,
    of_delivery,
    processed,
)

PROCESSORS = {"store", "relay"}
# Spans leave each worker every 50 ms instead of every 5 s (the SDK's OTEL_BSP_ variable).
TRACES = {"RUNRUN_TRACES": "otlp", "OTEL_BSP_SCHEDULE_DELAY": "50"}


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as found:
        yield found


@pytest.fixture
def sink() -> Iterator[Sink]:
    with sink_server() as found:
        yield found


def send(server: Server, extra: dict[str, str]) -> tuple[str, list[str]]:
    """One signed delivery with `extra` headers; its id and what must never be in a span."""
    delivery = github_delivery()
    headers = {**delivery.headers, **extra}
    answer = server.request("POST", "/github_webhook", tuple(headers.items()), delivery.body)
    assert answer.status == 200, answer.body
    needles = [GITHUB_SECRET, headers["X-Hub-Signature-256"], delivery.body.decode()]
    return delivery.key, [*needles, "feature/reliability"]


def check_logs(
    server: Server, trace: list[ReceivedSpan], delivery_id: str, trace_field: str
) -> None:
    """The request's log line carries the request span's ids, each run's its message span's."""
    lines: list[dict[str, Any]] = [
        line for line in log_lines(server) if line.get("delivery_id") == delivery_id
    ]
    receive = next(s for s in trace if s.kind == SERVER)
    consumers = {s.span_id for s in trace if s.kind == CONSUMER}
    (accepted,) = [line for line in lines if line["message"] == "delivery accepted"]
    assert accepted["logging.googleapis.com/trace"] == trace_field
    assert accepted["logging.googleapis.com/spanId"] == receive.span_id
    ran = [line for line in lines if line["message"] == "processor ran"]
    assert {line["processor"] for line in ran} >= PROCESSORS
    for line in ran:
        assert line["logging.googleapis.com/trace"] == trace_field
        assert line["logging.googleapis.com/spanId"] in consumers


def test_one_trace_across_the_local_queue(
    tmp_path: Path, receiver: OtlpReceiver, sink: Sink
) -> None:
    env = base_env(
        tmp_path / "state",
        RUNRUN_STORE="sqlite",
        RUNRUN_QUEUE="local",
        RUNRUN_DEPLOY_VIA="topic",
        RUNRUN_RELAY_URL=sink.url,
        GITHUB_WEBHOOK_SECRET=GITHUB_SECRET,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        **TRACES,
    )
    server = start_server(tmp_path, env)
    try:
        delivery_id, needles = send(server, {"traceparent": TRACEPARENT})
        spans = receiver.wait(
            lambda spans: processed(spans, delivery_id, PROCESSORS), "every processor's span"
        )
    finally:
        server.stop()

    trace = of_delivery(spans, delivery_id)
    named = check_one_trace(trace, delivery_id, PROCESSORS)
    receive = named["receive github_webhook"]
    assert (receive.trace_id, receive.parent_span_id) == (CALLER_TRACE, CALLER_SPAN)
    assert named["hand off"].attributes["messaging.destination.name"] == "webhook-deliveries"
    assert {s.service for s in trace} == {"runrun"}
    check_logs(server, trace, delivery_id, CALLER_TRACE)  # no project: the bare trace id
    assert attribute_problems(spans, needles) == []
    assert receiver.refused == []


@pytest.mark.emulators
def test_one_trace_across_the_pubsub_emulator(
    on_emulators: Emulators, tmp_path: Path, receiver: OtlpReceiver, sink: Sink
) -> None:
    warm_up(on_emulators)
    suffix = uuid.uuid4().hex[:10]
    topics = Topics(suffix)
    env = server_env(
        tmp_path,
        on_emulators,
        suffix,
        sink.url,
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        **TRACES,
    )
    server = start_server(tmp_path, env)
    trace_id, span_id = "105445aa7843bc8bf206b12000100000", 1234567890123
    try:
        topics.push_to(server)
        delivery_id, needles = send(server, {"X-Cloud-Trace-Context": f"{trace_id}/{span_id};o=1"})
        spans = receiver.wait(
            lambda spans: processed(spans, delivery_id, PROCESSORS), "every processor's span"
        )
    finally:
        server.stop()
        topics.close()

    trace = of_delivery(spans, delivery_id)
    named = check_one_trace(trace, delivery_id, PROCESSORS)
    receive = named["receive github_webhook"]
    assert (receive.trace_id, receive.parent_span_id) == (trace_id, f"{span_id:016x}")
    assert named["hand off"].attributes["runrun.route"] == "chained"
    check_logs(server, trace, delivery_id, f"projects/{PROJECT}/traces/{trace_id}")
    assert attribute_problems(spans, needles) == []
