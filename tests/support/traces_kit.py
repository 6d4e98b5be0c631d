"""What the traces tests share: spans read from the SDK's in-memory exporter in the shape the
OTLP receiver gives them, and the check that one delivery made one whole trace."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from opentelemetry.trace import format_span_id, format_trace_id

from shared._trace import ATTRIBUTES
from tests.support.otlp_receiver import ReceivedSpan

SERVER, PRODUCER, CONSUMER = 2, 4, 5  # OTLP's SpanKind numbers
# A W3C traceparent a caller might send (www.w3.org/TR/trace-context/#traceparent-header).
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


def from_sdk(spans: Iterable[Any]) -> list[ReceivedSpan]:
    """`InMemorySpanExporter.get_finished_spans()` as the OTLP receiver reports spans."""
    kinds = {"SERVER": 2, "CLIENT": 3, "PRODUCER": 4, "CONSUMER": 5}
    return [
        ReceivedSpan(
            name=span.name,
            trace_id=format_trace_id(span.context.trace_id),
            span_id=format_span_id(span.context.span_id),
            parent_span_id=format_span_id(span.parent.span_id) if span.parent else "",
            kind=kinds.get(span.kind.name, 1),
            attributes=dict(span.attributes or {}),
            status_code={"UNSET": 0, "OK": 1, "ERROR": 2}[span.status.status_code.name],
            resource=dict(span.resource.attributes),
        )
        for span in spans
    ]


def of_delivery(spans: list[ReceivedSpan], delivery_id: str) -> list[ReceivedSpan]:
    """The spans of the trace whose request span carries `delivery_id`."""
    receive = [
        s
        for s in spans
        if s.kind == SERVER and s.attributes.get("runrun.delivery_id") == delivery_id
    ]
    assert len(receive) == 1, f"{len(receive)} request spans for {delivery_id}"
    return [s for s in spans if s.trace_id == receive[0].trace_id]


def processed(spans: list[ReceivedSpan], delivery_id: str, processors: set[str]) -> bool:
    """Every processor's run span of `delivery_id` has been received (a wait condition)."""
    process = [
        s
        for s in spans
        if s.kind == CONSUMER and s.attributes.get("runrun.delivery_id") == delivery_id
    ]
    ids = {s.span_id for s in process}
    ran = {
        s.attributes.get("runrun.processor")
        for s in spans
        if s.parent_span_id in ids and s.attributes.get("runrun.outcome") == "ran"
    }
    return bool(process) and processors <= ran


def check_one_trace(
    trace: list[ReceivedSpan], delivery_id: str, processors: set[str]
) -> dict[str, ReceivedSpan]:
    """One trace from the request to every processor run of `delivery_id`:

        receive -> verify, hand off (-> claim) -> process -> run <processor>, each

    Returns the spans by name (the first of each name)."""
    by_id = {s.span_id: s for s in trace}
    named: dict[str, ReceivedSpan] = {}
    for span in trace:
        named.setdefault(span.name, span)
    receive = next(s for s in trace if s.kind == SERVER)
    handoff = named["hand off"]
    assert handoff.kind == PRODUCER and handoff.parent_span_id == receive.span_id
    assert named["verify"].parent_span_id == receive.span_id
    assert handoff.attributes["runrun.delivery_id"] == delivery_id
    consumers = [s for s in trace if s.kind == CONSUMER]
    assert consumers, "no processing span in the delivery's trace"
    assert all(s.parent_span_id == handoff.span_id for s in consumers), consumers
    runs = [s for s in trace if s.name.startswith("run ")]
    assert {s.attributes["runrun.processor"] for s in runs} >= processors
    assert all(by_id[s.parent_span_id].kind == CONSUMER for s in runs)
    assert all(s.trace_id == receive.trace_id for s in trace)
    return named


def attribute_problems(spans: list[ReceivedSpan], needles: Iterable[str]) -> list[str]:
    """Attributes no span of ours may carry, and any `needles` (secrets, signatures, bodies)
    found anywhere in the spans."""
    problems = [f"{s.name}: {key}" for s in spans for key in s.attributes if key not in ATTRIBUTES]
    text = json.dumps([[s.name, s.attributes] for s in spans], default=str)
    problems += [f"found {needle[:12]}..." for needle in needles if needle and needle in text]
    return problems
