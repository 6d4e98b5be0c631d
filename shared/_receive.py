"""The one receive pipeline every webhook target runs:

    method -> size -> content type -> verify -> parse -> handshake -> delivery id
           -> claim (idempotency) -> publish (handoff) -> complete -> 200

A 2xx is sent only after the queue acknowledged the message. A failing store or queue is
answered 503 with Retry-After and the claim is released, so the provider's retry goes
through. Every outcome is one log line.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from typing import Any

import flask
from werkzeug.exceptions import RequestEntityTooLarge

from ._config import get_settings, secrets_from_env
from ._deadline import deadline_scope
from ._delivery import Delivery, rfc3339_now
from ._errors import (
    BadRequest,
    MethodNotAllowed,
    NotConfigured,
    PayloadTooLarge,
    UnsupportedMediaType,
    WebhookError,
)
from ._log import log_context, trace_fields
from ._provider import Inbound, Provider
from .handoff import ensure_worker, publisher
from .idempotency import Claim, Replay, idempotency
from .verify import SignedRequest

log = logging.getLogger("runrun.receive")

# Idempotency keys are provider ids (GUIDs, evt_..., Ev...): far shorter than this.
MAX_KEY_CHARS = 512
# Kept small so that deadline + release stays inside Slack's 3 s.
RELEASE_BUDGET_SECONDS = 0.75


def json_response(status: int, body: dict[str, Any]) -> flask.Response:
    return flask.Response(json.dumps(body), status=status, content_type="application/json")


def error_response(exc: WebhookError) -> flask.Response:
    response = json_response(exc.status_code, {"error": exc.message})
    response.headers.update(exc.headers())
    return response


def receive(request: flask.Request, provider: Provider) -> flask.Response:
    """Run `request` through the pipeline for `provider` and return the answer."""
    started = time.perf_counter()
    ensure_worker()  # the local queue drains what a previous run left, without waiting
    details: dict[str, Any] = {}
    with log_context(
        target=provider.target, **trace_fields(request.headers.get("X-Cloud-Trace-Context"))
    ):
        try:
            response = _receive(request, provider, details)
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
    return response


def _read_body(request: flask.Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes without reading them all."""
    if request.content_length is not None and request.content_length > limit:
        # Leave the oversized body unread: hand Werkzeug an empty stream so nothing later
        # (functions-framework reads the request after every response) pulls it in.
        request.environ["wsgi.input"] = io.BytesIO()
        request.environ["CONTENT_LENGTH"] = "0"
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    request.max_content_length = limit  # a chunked body is cut off at the limit, too
    try:
        return request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"body exceeds {limit} bytes") from None


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _receive(request: flask.Request, provider: Provider, details: dict[str, Any]) -> flask.Response:
    settings = get_settings()
    if request.method not in provider.methods:
        raise MethodNotAllowed(request.method, provider.methods)
    if not _is_json(request.mimetype):
        shown = request.mimetype or "none"
        raise UnsupportedMediaType(f"content type {shown!r} is not JSON; send application/json")
    try:
        body = _read_body(request, settings.max_body_bytes)
    except PayloadTooLarge:
        details["close"] = True
        raise

    secrets = secrets_from_env(provider.secret_env)
    if not secrets:
        raise NotConfigured(f"{provider.secret_env} is not set")
    headers = {name.lower(): value for name, value in request.headers.items()}
    provider.verify(
        SignedRequest(body=body, headers=headers, url=request.url),
        secrets,
        settings.timestamp_tolerance_seconds,
    )

    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise BadRequest("JSON body must be an object")
    inbound = Inbound(headers=headers, body=body, payload=payload, query=request.args)

    answer = provider.challenge(inbound)
    if answer is not None:
        details["outcome"] = "handshake"
        return answer
    if provider.ignore(inbound):
        details["outcome"] = "ignored"
        return json_response(200, {"status": "ignored"})

    key = provider.delivery_id(inbound)
    if not key:
        raise BadRequest(f"missing delivery id ({provider.delivery_id_source})")
    if len(key) > MAX_KEY_CHARS:
        raise BadRequest(f"delivery id longer than {MAX_KEY_CHARS} characters")
    event_type = provider.event_type(inbound)
    details.update(delivery_id=key, event_type=event_type)

    with deadline_scope():
        outcome = idempotency.get().claim(provider.target, key, hashlib.sha256(body).hexdigest())
        if isinstance(outcome, Replay):
            details["outcome"] = "replayed"
            response = flask.Response(
                outcome.body, status=outcome.status, content_type=outcome.content_type
            )
            response.headers["Idempotent-Replayed"] = "true"
            return response
        _hand_off(outcome, provider, key, event_type, request.mimetype, body)
        answer_body = json.dumps({"status": "accepted", "delivery_id": key})
        try:
            idempotency.get().complete(outcome, 200, answer_body, "application/json")
        except WebhookError as exc:
            # The message is already durably queued, so 200 is the truth. The claim stays
            # in progress until its lease ends; a retry after that publishes again and the
            # processor's own deduplication absorbs it.
            log.warning("could not mark delivery complete", extra={"reason": exc.message})
    details["outcome"] = "accepted"
    return flask.Response(answer_body, status=200, content_type="application/json")


def _hand_off(
    claim: Claim, provider: Provider, key: str, event_type: str, content_type: str, body: bytes
) -> None:
    delivery = Delivery(
        source=provider.target,
        delivery_id=key,
        event_type=event_type,
        content_type=content_type,
        received_at=rfc3339_now(),
        data=body,
    )
    try:
        publisher.get().publish(get_settings().topic, body, delivery.attributes())
    except BaseException:
        _release_quietly(claim)
        raise


def _release_quietly(claim: Claim) -> None:
    """Give the key back; if even that fails, the lease expiry lets the retry through."""
    try:
        # A budget of its own: the publish may have used up the request's deadline.
        with deadline_scope(RELEASE_BUDGET_SECONDS):
            idempotency.get().release(claim)
    except WebhookError as exc:
        log.warning("could not release claim", extra={"reason": exc.message})
