"""The fulfilment pipeline, synchronous "trigger an action": the agent waits for the answer.

    method -> size -> auth -> content type -> parse -> tag -> claim -> handler (budget) -> answer

A handler runs on a worker thread for at most RUNRUN_DIALOGFLOW_BUDGET_SECONDS (below the
agent's timeout). One that runs out, fails, or cannot be claimed because the store is down
is answered with a valid WebhookResponse carrying the fallback text: a 5xx would show the
end user the agent's error instead. Input errors stay 4xx, and so reach the agent's
`webhook.error` handlers, as the agent expects of a misconfigured webhook.

Idempotency: `detectIntentResponseId` + tag. A retried call replays the answer recorded
for the first; a retry arriving while the first still runs waits for it within its budget.
A handler that finishes after its call was answered with the fallback still records its
own answer, so a retry of that call gets the real one.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask

from .._activity import record_delivery
from .._config import get_settings
from .._deadline import deadline_scope
from .._errors import (
    BackendUnavailable,
    BadRequest,
    ClaimInProgress,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    WebhookError,
)
from .._lazy import Lazy
from .._log import log_context
from .._receive import _read_body as read_body
from .._receive import error_response
from ..idempotency import Claim, Replay, idempotency
from ..verify import verify_dialogflow
from ._messages import FulfilmentRequest, Reply, parse_request, response_json

log = logging.getLogger("runrun.fulfil")

Handler = Callable[[FulfilmentRequest], Reply]
JSON = "application/json"
_WAIT_STEP_SECONDS = 0.05  # how often a retry looks for the first call's answer
_STORE_BUDGET_SECONDS = 0.5  # the claim's completion, after the handler


@dataclass(frozen=True)
class Fulfilment:
    """A fulfilment target, as deploy sees it: its name and the secret it mounts (the
    static-header form; basic auth and ID tokens are configured by hand)."""

    target: str
    env_names: tuple[str, ...] = ("DIALOGFLOW_WEBHOOK_SECRET",)


class FulfilmentRegistry:
    """Handlers per fulfillment tag, registered with `@registry.handler("tag")`."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def handler(self, tag: str) -> Callable[[Handler], Handler]:
        def decorator(fn: Handler) -> Handler:
            if tag in self._handlers:
                raise ValueError(f"a handler for tag {tag!r} is already registered")
            self._handlers[tag] = fn
            return fn

        return decorator

    def get(self, tag: str) -> Handler | None:
        return self._handlers.get(tag)

    def tags(self) -> list[str]:
        return sorted(self._handlers)


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="fulfil")


_handlers_pool: Lazy[concurrent.futures.ThreadPoolExecutor] = Lazy(_pool)


def _answer(body: str, status: int = 200) -> flask.Response:
    return flask.Response(body, status=status, content_type=JSON)


def _fallback() -> str:
    return response_json(Reply(messages=[get_settings().dialogflow_fallback_text]))


def fulfil(
    request: flask.Request, target: Fulfilment, registry: FulfilmentRegistry
) -> flask.Response:
    """Answer one webhook call of the agent."""
    started = time.monotonic()
    details: dict[str, Any] = {}
    with log_context(target=target.target):
        try:
            response = _fulfil(request, target, registry, started, details)
        except WebhookError as exc:
            response = error_response(exc)
            details.setdefault("outcome", "rejected")
            details["reason"] = exc.message
        if details.pop("close", False):
            response.headers["Connection"] = "close"
        details["status"] = response.status_code
        details["latency_ms"] = round((time.monotonic() - started) * 1000, 2)
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        log.log(level, "fulfilment %s", details.get("outcome", "rejected"), extra=details)
        record_delivery(target.target, details)  # for the inspector page; never raises
    return response


def _fulfil(
    request: flask.Request,
    target: Fulfilment,
    registry: FulfilmentRegistry,
    started: float,
    details: dict[str, Any],
) -> flask.Response:
    settings = get_settings()
    if request.method != "POST":
        raise MethodNotAllowed(request.method, ("POST",))
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        details["close"] = True  # the unread body must not be parsed as the next request
        read_body(request, settings.max_body_bytes)  # refuses it without reading it
    verify_dialogflow({name.lower(): value for name, value in request.headers.items()})
    if request.mimetype != JSON:
        shown = request.mimetype or "none"
        raise UnsupportedMediaType(f"content type {shown!r} is not accepted; send {JSON}")
    try:
        body = read_body(request, settings.max_body_bytes)
    except PayloadTooLarge:
        details["close"] = True
        raise
    call = parse_request(body)
    details.update(delivery_id=call.response_id or None, event_type=call.tag)
    handler = registry.get(call.tag)
    if handler is None:
        known = ", ".join(registry.tags()) or "none"
        raise BadRequest(f"unknown fulfillment tag {call.tag!r}; this webhook serves {known}")

    deadline = started + settings.dialogflow_budget_seconds
    claim: Claim | None = None
    if call.response_id:
        digest = hashlib.sha256(body).hexdigest()
        try:
            outcome = _claim(f"{call.response_id}:{call.tag}", digest, deadline)
        except (BackendUnavailable, ClaimInProgress) as exc:
            details.update(outcome="fallback", reason=exc.message)
            return _answer(_fallback())
        if isinstance(outcome, Replay):
            details["outcome"] = "replayed"
            response = _answer(outcome.body, outcome.status)
            response.headers["Idempotent-Replayed"] = "true"
            return response
        claim = outcome
    return _run(handler, call, claim, deadline, target.target, details)


def _claim(key: str, digest: str, deadline: float) -> Claim | Replay:
    """Claim the call, or wait (within the budget) for the attempt that holds it."""
    while True:
        try:
            with deadline_scope(max(0.05, min(_STORE_BUDGET_SECONDS, deadline - time.monotonic()))):
                return idempotency.get().claim("dialogflow_webhook", key, digest)
        except ClaimInProgress:
            if time.monotonic() + _WAIT_STEP_SECONDS >= deadline:
                raise
            time.sleep(_WAIT_STEP_SECONDS)


def _run(
    handler: Handler,
    call: FulfilmentRequest,
    claim: Claim | None,
    deadline: float,
    target: str,
    details: dict[str, Any],
) -> flask.Response:
    budget = deadline - time.monotonic()
    context = contextvars.copy_context()  # the log fields travel with the handler

    def work() -> str:
        with deadline_scope(max(budget, 0.01)):
            return response_json(handler(call))

    future = _handlers_pool.get().submit(context.run, work)
    future.add_done_callback(lambda done: _settle(done, claim, call.tag))
    try:
        body = future.result(timeout=max(budget, 0))
    except concurrent.futures.TimeoutError:
        details.update(outcome="fallback", reason="handler ran out of its budget")
        return _answer(_fallback())
    except Exception as exc:  # noqa: BLE001 - any handler failure is the fallback, not a 5xx
        details.update(outcome="fallback", reason=f"handler failed: {type(exc).__name__}")
        return _answer(_fallback())
    details["outcome"] = "fulfilled"
    return _answer(body)


def _settle(done: concurrent.futures.Future[str], claim: Claim | None, tag: str) -> None:
    """Record the handler's answer for retries, or give the claim back when it failed."""
    if claim is None:
        return
    try:
        with deadline_scope(_STORE_BUDGET_SECONDS):
            if done.exception() is None:
                idempotency.get().complete(claim, 200, done.result(), JSON)
            else:
                log.error(
                    "fulfilment handler failed",
                    extra={"tag": tag, "error": type(done.exception()).__name__},
                )
                idempotency.get().release(claim)
    except WebhookError as exc:
        # The lease runs out on its own: a retry then runs the handler again.
        log.warning("could not record the fulfilment answer", extra={"reason": exc.message})
