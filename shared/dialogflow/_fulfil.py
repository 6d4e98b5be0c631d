"""The fulfilment pipeline, synchronous "trigger an action": the agent waits for the answer.

    method -> size -> auth -> content type -> parse -> tag -> claim -> handler (budget) -> answer

A handler runs on a thread of the runtime's fulfilment pool for at most
RUNRUN_DIALOGFLOW_BUDGET_SECONDS (below the agent's timeout). One that runs out, fails, or
cannot be claimed because the store is down is answered with a valid WebhookResponse
carrying the fallback text: a 5xx would show the end user the agent's error instead. Input
errors stay 4xx, and so reach the agent's `webhook.error` handlers, as the agent expects of a
misconfigured webhook.

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
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import flask

from shared._deadline import deadline_scope
from shared._errors import (
    BackendUnavailable,
    BadRequest,
    ClaimInProgress,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    WebhookError,
)
from shared._http import error_response
from shared._log import log_context
from shared._observe import DeliveryReport
from shared.backends.idempotency import Claim, Idempotency, Replay
from shared.dialogflow._messages import FulfilmentRequest, Reply, parse_request, response_json
from shared.providers import DialogflowAuth, verify_dialogflow
from shared.providers.dialogflow import Fulfilment
from shared.providers.dialogflow._verify import BASIC_ENV
from shared.receiving._body import read_body

if TYPE_CHECKING:
    from shared.dialogflow._host import FulfilmentRuntime

log = logging.getLogger("runrun.fulfil")

# A handler gets the agent's call and the runtime (its documents, publisher, settings).
Handler = Callable[[FulfilmentRequest, "FulfilmentRuntime"], Reply]
JSON = "application/json"
_WAIT_STEP_SECONDS = 0.05  # how often a retry looks for the first call's answer
_STORE_BUDGET_SECONDS = 0.5  # the claim's completion, after the handler


class FulfilmentRegistry:
    """Handlers per fulfillment tag: given as a mapping, or added with
    `@registry.handler("tag")`."""

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self._handlers: dict[str, Handler] = dict(handlers or {})

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


def _answer(body: str, status: int = 200) -> flask.Response:
    return flask.Response(body, status=status, content_type=JSON)


def _fallback(runtime: FulfilmentRuntime) -> str:
    return response_json(Reply(messages=[runtime.settings.dialogflow.fallback_text]))


def fulfil_with(
    request: flask.Request,
    target: Fulfilment,
    registry: FulfilmentRegistry,
    runtime: FulfilmentRuntime,
) -> flask.Response:
    """Answer one webhook call of the agent, on `runtime`."""
    started = time.monotonic()
    details: dict[str, Any] = {}
    with log_context(target=target.target):
        try:
            response = _fulfil(runtime, request, target, registry, started, details)
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
        if runtime.observers:
            runtime.observers.delivery(DeliveryReport(target.target, details))
    return response


def _auth(runtime: FulfilmentRuntime, target: Fulfilment) -> DialogflowAuth:
    settings = runtime.settings.dialogflow
    return DialogflowAuth(
        secrets=runtime.secrets.values(target.secret_env),
        basic=runtime.secrets.values(BASIC_ENV),
        secret_header=settings.secret_header,
        audiences=settings.audiences,
        agents=settings.service_agents,
        certificates=runtime.certificates,
    )


def _fulfil(
    runtime: FulfilmentRuntime,
    request: flask.Request,
    target: Fulfilment,
    registry: FulfilmentRegistry,
    started: float,
    details: dict[str, Any],
) -> flask.Response:
    limit = runtime.settings.receive.max_body_bytes
    if request.method != "POST":
        raise MethodNotAllowed(request.method, ("POST",))
    if request.content_length is not None and request.content_length > limit:
        details["close"] = True  # the unread body must not be parsed as the next request
        read_body(request, limit)  # refuses it without reading it
    headers = {name.lower(): value for name, value in request.headers.items()}
    verify_dialogflow(headers, _auth(runtime, target))
    if request.mimetype != JSON:
        shown = request.mimetype or "none"
        raise UnsupportedMediaType(f"content type {shown!r} is not accepted; send {JSON}")
    try:
        body = read_body(request, limit)
    except PayloadTooLarge:
        details["close"] = True
        raise
    call = parse_request(body)
    details.update(delivery_id=call.response_id or None, event_type=call.tag)
    handler = registry.get(call.tag)
    if handler is None:
        known = ", ".join(registry.tags()) or "none"
        raise BadRequest(f"unknown fulfillment tag {call.tag!r}; this webhook serves {known}")

    deadline = started + runtime.settings.dialogflow.budget_seconds
    claim: Claim | None = None
    if call.response_id:
        digest = hashlib.sha256(body).hexdigest()
        try:
            outcome = _claim(
                runtime.idempotency, target, f"{call.response_id}:{call.tag}", digest, deadline
            )
        except (BackendUnavailable, ClaimInProgress) as exc:
            details.update(outcome="fallback", reason=exc.message)
            return _answer(_fallback(runtime))
        if isinstance(outcome, Replay):
            details["outcome"] = "replayed"
            response = _answer(outcome.body, outcome.status)
            response.headers["Idempotent-Replayed"] = "true"
            return response
        claim = outcome
    return _run(runtime, handler, call, claim, deadline, details)


def _claim(
    store: Idempotency, target: Fulfilment, key: str, digest: str, deadline: float
) -> Claim | Replay:
    """Claim the call, or wait (within the budget) for the attempt that holds it."""
    while True:
        try:
            with deadline_scope(max(0.05, min(_STORE_BUDGET_SECONDS, deadline - time.monotonic()))):
                return store.claim(target.target, key, digest)
        except ClaimInProgress:
            if time.monotonic() + _WAIT_STEP_SECONDS >= deadline:
                raise
            time.sleep(_WAIT_STEP_SECONDS)


def _run(
    runtime: FulfilmentRuntime,
    handler: Handler,
    call: FulfilmentRequest,
    claim: Claim | None,
    deadline: float,
    details: dict[str, Any],
) -> flask.Response:
    budget = deadline - time.monotonic()
    context = contextvars.copy_context()  # the log fields travel with the handler

    def work() -> str:
        with deadline_scope(max(budget, 0.01)):
            return response_json(handler(call, runtime))

    store = runtime.idempotency
    future = runtime.fulfilment_pool.submit(context.run, work)
    future.add_done_callback(lambda done: _settle(store, done, claim, call.tag))
    try:
        body = future.result(timeout=max(budget, 0))
    except concurrent.futures.TimeoutError:
        details.update(outcome="fallback", reason="handler ran out of its budget")
        return _answer(_fallback(runtime))
    except Exception as exc:  # noqa: BLE001 - any handler failure is the fallback, not a 5xx
        details.update(outcome="fallback", reason=f"handler failed: {type(exc).__name__}")
        return _answer(_fallback(runtime))
    details["outcome"] = "fulfilled"
    return _answer(body)


def _settle(
    store: Idempotency, done: concurrent.futures.Future[str], claim: Claim | None, tag: str
) -> None:
    """Record the handler's answer for retries, or give the claim back when it failed."""
    if claim is None:
        return
    try:
        with deadline_scope(_STORE_BUDGET_SECONDS):
            failure = None if done.cancelled() else done.exception()
            if not done.cancelled() and failure is None:
                store.complete(claim, 200, done.result(), JSON)
            else:  # failed, or never ran because the process is stopping
                log.error(
                    "fulfilment handler failed",
                    extra={"tag": tag, "error": type(failure).__name__ if failure else "Cancelled"},
                )
                store.release(claim)
    except WebhookError as exc:
        # The lease runs out on its own: a retry then runs the handler again.
        log.warning("could not record the fulfilment answer", extra={"reason": exc.message})
