"""The one receive pipeline every webhook target runs, as named steps:

    admit (method, size, handshake, content type, body)  -> _admit.py
    authenticate (signature, then parse)                  -> _authenticate.py
    challenge / ignore                                    -> the provider's description
    split (the request, or each item of a batch; ids)     -> _split.py
    hand off (claim, publish, complete) along the route   -> _hand_off.py
    answer (2xx once the queue holds every item, or the replay of an earlier answer)

A 2xx is sent only after the queue acknowledged the message: the queue is where a delivery
becomes durable. The claim only saves duplicate publishes (the processor's own claim is the
exactly-once guarantee), so a store that fails or answers too slowly does not stop a
delivery: it is published without a claim and answered 2xx (`accepted_unclaimed`). Only a
queue that fails is answered 503 with Retry-After, the claim released so the provider's
retry goes through. Every budget is the target's deadline (its provider's answer window
minus a margin); a receiving claim lasts that long, never longer. Every outcome is one log
line.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import flask

from shared._delivery import Delivery, rfc3339_now
from shared._errors import BackendUnavailable, WebhookError
from shared._http import error_response, json_response
from shared._log import log_context, trace_fields
from shared._observe import DeliveryReport
from shared._trace import Span, SpanIds, Tracer, step
from shared.backends.idempotency import Replay
from shared.providers import Inbound, Provider
from shared.receiving._admit import admit
from shared.receiving._authenticate import authenticate
from shared.receiving._claims import ReceiveClaims
from shared.receiving._hand_off import HandOff, Item
from shared.receiving._split import split

if TYPE_CHECKING:
    from shared.receiving._host import ReceivingRuntime

log = logging.getLogger("runrun.receive")


def receive_with(
    request: flask.Request, provider: Provider, runtime: ReceivingRuntime
) -> flask.Response:
    """Run `request` through the pipeline for `provider` on `runtime`, and return the answer."""
    tracer = runtime.tracer
    if tracer is None:
        trace = trace_fields(request.headers.get("X-Cloud-Trace-Context"), runtime.project)
        return _answer(runtime, request, provider, trace)
    with tracer.receiving(provider.target, request.headers) as span:
        ids = tracer.ids(span)
        # The log lines carry the span's ids: they line up with the trace, whichever
        # header (if any) it came from.
        return _answer(runtime, request, provider, ids.log_fields(runtime.project), span, ids)


def _answer(
    runtime: ReceivingRuntime,
    request: flask.Request,
    provider: Provider,
    trace: dict[str, Any],
    span: Span | None = None,
    ids: SpanIds | None = None,
) -> flask.Response:
    """The answer to `request`, its log line and its report to the observers."""
    started = time.perf_counter()
    details: dict[str, Any] = {}
    with log_context(target=provider.target, **trace):
        try:
            response = _receive(runtime, request, provider, details)
        except WebhookError as exc:
            response = error_response(exc)
            details.setdefault("outcome", "rejected")
            details["reason"] = exc.message
        if details.pop("close", False):
            response.headers["Connection"] = "close"  # the unread body must not be parsed
        details["status"] = response.status_code
        details["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        log.log(level, "delivery %s", details.get("outcome", "rejected"), extra=details)
        if span is not None:
            _describe(span, request.method, details)
        if ids is not None and ids.sampled:  # the inspector links the delivery to its trace
            details["trace_id"] = ids.trace_id
        if runtime.observers:
            runtime.observers.delivery(DeliveryReport(provider.target, details))
    return response


def _describe(span: Span, method: str, details: dict[str, Any]) -> None:
    """The request's span gets what its log line says, but the reason (free text)."""
    span.set_attribute("http.request.method", method)
    span.set_attribute("http.response.status_code", details["status"])
    span.set_attribute("runrun.outcome", str(details.get("outcome", "rejected")))
    for name in ("delivery_id", "event_type", "batch"):
        value = details.get(name)
        if value is not None:
            span.set_attribute(f"runrun.{name}", value)


def _receive(
    runtime: ReceivingRuntime, request: flask.Request, provider: Provider, details: dict[str, Any]
) -> flask.Response:
    admitted = admit(runtime, request, provider, details)
    if isinstance(admitted, flask.Response):
        return admitted
    with step(runtime.tracer, "verify"):
        inbound = authenticate(runtime, request, provider, admitted)
    answer = provider.challenge(inbound)
    if answer is not None:
        details["outcome"] = "handshake"
        return answer
    if provider.ignore(inbound):
        details["outcome"] = "ignored"
        return json_response(200, {"status": "ignored"})
    parts = split(provider, inbound, admitted.body_format, request.mimetype)
    if not parts:
        details["outcome"] = "ignored"
        return json_response(200, {"status": "ignored", "reason": "empty batch"})
    details.update(delivery_id=parts[0][2], event_type=provider.event_type(parts[0][0]))
    if len(parts) > 1:
        details["batch"] = len(parts)
    return _hand_off(runtime, provider, parts, details)


def _hand_off(
    runtime: ReceivingRuntime,
    provider: Provider,
    parts: list[tuple[Inbound, str, str]],
    details: dict[str, Any],
) -> flask.Response:
    """Hand every part off within the target's deadline, and answer: the 2xx the provider
    expects, or the replay of an earlier answer to a single delivery."""
    reply = provider.answer([key for _, _, key in parts])
    deadline = runtime.settings.receive.deadline_for(
        provider.target, provider.answer_window_seconds
    )
    claims = ReceiveClaims(runtime, provider.target, deadline)
    hand_off = HandOff(runtime, runtime.route_for(provider.target), claims, reply)
    handed_off = 0
    tracer = runtime.tracer
    with runtime.deadline(deadline):
        for part, content_type, key in parts:
            item = _item(runtime, provider, part, content_type, key)
            try:
                if tracer is None:
                    replay = hand_off.take(item)
                else:
                    replay = _traced_take(tracer, hand_off, item)
            except BackendUnavailable:
                details["handoff_failed"] = True  # counted apart from other 5xx (metrics)
                raise
            if replay is None:
                handed_off += 1
            elif len(parts) == 1:
                details["outcome"] = "replayed"
                return _replayed(replay)
            # else: this item of the batch was handed off by an earlier attempt
    claims.wait_for_lease_end()
    if hand_off.unclaimed:
        details["outcome"] = "accepted_unclaimed"
        details["unclaimed"] = hand_off.unclaimed
    else:
        details["outcome"] = "accepted" if handed_off else "replayed"
    status, body, content_type = reply
    return flask.Response(body, status=status, content_type=content_type)


def _item(
    runtime: ReceivingRuntime, provider: Provider, part: Inbound, content_type: str, key: str
) -> Item:
    delivery = Delivery(
        source=provider.target,
        delivery_id=key,
        event_type=provider.event_type(part),
        content_type=content_type,
        received_at=rfc3339_now(),
        data=part.body,
    )
    digest = hashlib.sha256(part.body).hexdigest()
    return Item(delivery, digest, runtime.idempotency.new_token())


def _traced_take(tracer: Tracer, hand_off: HandOff, item: Item) -> Replay | None:
    """`hand_off.take(item)` in a span of its own, whose context the message carries."""
    delivery = item.delivery
    attributes = {
        "runrun.delivery_id": delivery.delivery_id,
        "runrun.event_type": delivery.event_type,
        "runrun.route": hand_off.route_name,
        "messaging.operation.type": "send",
        "messaging.destination.name": hand_off.topic,
    }
    with tracer.step("hand off", attributes, producer=True) as span:
        item.delivery = replace(delivery, traceparent=tracer.traceparent(span))
        replay = hand_off.take(item)
        span.set_attribute("runrun.outcome", "handed off" if replay is None else "replayed")
        return replay


def _replayed(replay: Replay) -> flask.Response:
    response = flask.Response(replay.body, status=replay.status, content_type=replay.content_type)
    response.headers["Idempotent-Replayed"] = "true"
    return response
