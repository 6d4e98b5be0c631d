"""The one receive pipeline every webhook target runs:

    method -> size -> content type -> verify -> parse -> handshake -> delivery id
           -> claim (idempotency) -> publish (handoff) -> complete -> 200

On the embedded backends (store and queue in one SQLite file) the claim, the publish and the
completion are one transaction (`ReceivingRuntime.intake_for`, shared/_intake.py), with the same
outcomes; a key another attempt holds, or a failed transaction, takes the three steps.

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
import json
import logging
import time
import urllib.parse
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import flask

from shared._errors import (
    BadRequest,
    MethodNotAllowed,
    NotConfigured,
    PayloadTooLarge,
    UnsupportedMediaType,
    WebhookError,
)
from shared._http import error_response, json_response
from shared._log import log_context, trace_fields
from shared._observe import DeliveryReport
from shared.backends._intake import Accepted, Intake
from shared.backends.idempotency import Claim, Replay
from shared.providers import SignedRequest, push_auth_enabled
from shared.providers._provider import Handshake, Inbound, Provider
from shared.receiving._body import read_body
from shared.receiving._claims import ReceiveClaims
from shared.receiving._hand_off import (
    chained_hand_off,
    claim_after,
    delivery_of,
    hand_off,
    publish_followup,
)
from shared.settings._env import ConfigError, positive_int_env

if TYPE_CHECKING:
    from shared.receiving._host import ReceivingRuntime

log = logging.getLogger("runrun.receive")

# Idempotency keys are provider ids (GUIDs, evt_..., Ev...): far shorter than this.
MAX_KEY_CHARS = 512


def receive_with(
    request: flask.Request, provider: Provider, runtime: ReceivingRuntime
) -> flask.Response:
    """Run `request` through the pipeline for `provider` on `runtime`, and return the answer."""
    started = time.perf_counter()
    details: dict[str, Any] = {}
    trace = trace_fields(request.headers.get("X-Cloud-Trace-Context"), runtime.project)
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
        if runtime.observers:
            runtime.observers.delivery(DeliveryReport(provider.target, details))
    return response


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


FORM = "application/x-www-form-urlencoded"


def _body_format(provider: Provider, mimetype: str) -> str:
    if "json" in provider.body_formats and _is_json(mimetype):
        return "json"
    if "form" in provider.body_formats and mimetype == FORM:
        return "form"
    shown = mimetype or "none"
    wanted = " or ".join("application/json" if f == "json" else FORM for f in provider.body_formats)
    raise UnsupportedMediaType(f"content type {shown!r} is not accepted; send {wanted}")


def public_url(request: flask.Request) -> str:
    """The URL the sender called, as it signed it (Twilio).

    Behind Cloud Run's front end (or any proxy) the app sees http and an internal address:
    the scheme comes from X-Forwarded-Proto and the host from X-Forwarded-Host or Host. The
    path and query are the raw bytes of the request line (RAW_URI / REQUEST_URI), because
    re-quoting the decoded path would change what was signed (`%2F` becomes `/`).
    """
    forwarded_proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    scheme = forwarded_proto if forwarded_proto in ("http", "https") else request.scheme
    forwarded_host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    host = forwarded_host or request.host
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not isinstance(raw, str) or not raw.startswith("/"):
        raw = request.full_path if request.query_string else request.path
        raw = request.root_path + raw
    return f"{scheme}://{host}{raw}"


def _tolerance(provider: Provider, default: int) -> int:
    if not provider.tolerance_env:
        return default
    try:
        override = positive_int_env(provider.tolerance_env)
    except ConfigError as exc:
        raise NotConfigured(str(exc)) from None
    return default if override is None else override


def _parse(body: bytes, body_format: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The payload object, and the form fields in order when the body is a form."""
    if body_format == "form":
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, errors="strict"
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(f"body is not a valid form: {type(exc).__name__}") from None
        fields: dict[str, Any] = {}
        for name, value in pairs:
            fields.setdefault(name, value)  # a repeated field keeps its first value
        return fields, pairs
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise BadRequest("JSON body must be an object")
    return payload, []


def _receive(
    runtime: ReceivingRuntime, request: flask.Request, provider: Provider, details: dict[str, Any]
) -> flask.Response:
    settings = runtime.settings
    if request.method not in provider.methods:
        raise MethodNotAllowed(request.method, provider.methods)
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        # Before the handshake and the content type: whatever the answer, an oversized body
        # must stay unread, and only the 413 path leaves it so.
        details["close"] = True
        read_body(request, settings.max_body_bytes)
    headers = {name.lower(): value for name, value in request.headers.items()}
    named = {env: runtime.secrets.values(env) for env in provider.env_names}
    if provider.handshake is not None:
        check = Handshake(method=request.method, query=request.args, headers=headers, secrets=named)
        answer = provider.handshake(check)
        if answer is not None:
            details["outcome"] = "handshake"
            return answer
    if request.method == "GET":  # allowed for a handshake only, and this was none
        raise BadRequest("GET is only for the ownership check, and this request is none")
    body_format = _body_format(provider, request.mimetype)
    try:
        body = read_body(request, settings.max_body_bytes)
    except PayloadTooLarge:
        details["close"] = True
        raise

    secrets = [value for env in (provider.secret_env, *provider.key_envs) for value in named[env]]
    if not secrets:
        raise NotConfigured(f"{' or '.join((provider.secret_env, *provider.key_envs))} is not set")
    if provider.internal and push_auth_enabled():
        runtime.verify_push(headers)
    form: list[tuple[str, str]] = []
    payload: dict[str, Any] | None = None
    if body_format == "form":
        payload, form = _parse(body, body_format)  # the form fields are part of what is signed
    provider.verify(
        SignedRequest(
            body=body, headers=headers, url=public_url(request), form=form, secrets_by_env=named
        ),
        secrets,
        _tolerance(provider, settings.timestamp_tolerance_seconds),
    )
    if payload is None:  # JSON is parsed only once the signature is known to be good
        payload, _ = _parse(body, body_format)
    inbound = Inbound(
        headers=headers, body=body, payload=payload, query=request.args, secrets=named
    )

    answer = provider.challenge(inbound)
    if answer is not None:
        details["outcome"] = "handshake"
        return answer
    if provider.ignore(inbound):
        details["outcome"] = "ignored"
        return json_response(200, {"status": "ignored"})

    parts = _parts(provider, inbound, body_format, request.mimetype)
    if not parts:
        details["outcome"] = "ignored"
        return json_response(200, {"status": "ignored", "reason": "empty batch"})
    keyed = [(part, content_type, _key(provider, part)) for part, content_type in parts]
    event_type = provider.event_type(keyed[0][0])
    details.update(delivery_id=keyed[0][2], event_type=event_type)
    if len(keyed) > 1:
        details["batch"] = len(keyed)
    status, answer_body, answer_type = provider.answer([key for _, _, key in keyed])

    handed_off = unclaimed = 0
    deadline = settings.deadline_for(provider.target, provider.answer_window_seconds)
    claims = ReceiveClaims(runtime, provider.target, deadline)
    reply = (status, answer_body, answer_type)
    intake, topic = runtime.intake_for(provider.target), settings.topic
    with runtime.deadline(deadline):
        for part, content_type, key in keyed:
            digest = hashlib.sha256(part.body).hexdigest()
            token = runtime.idempotency.new_token()
            item_type = provider.event_type(part)
            taken: Accepted | Replay | None = None
            if intake is not None:  # one transaction instead of the three steps below
                delivery = delivery_of(provider, key, item_type, content_type, part.body)
                taken = intake.take(
                    Intake.of(delivery, digest, token, claims.lease_until, topic, reply)
                )
                if isinstance(taken, Accepted):
                    handed_off += 1
                    continue
            if isinstance(taken, Replay):
                claim: Claim | Replay | None = taken
            else:
                publish = publish_followup(runtime, provider, key, item_type, content_type, part)
                chained = claims.chain(key, digest, token, publish, reply) if publish else None
                if chained is not None and chained.claim is not None:
                    # Claimed, published and completed (or failed) in one wake-up.
                    chained_hand_off(runtime, claims, chained, reply)
                    handed_off += 1
                    continue
                claim = claim_after(claims, chained, key, digest, token)
            if isinstance(claim, Replay):
                if len(keyed) == 1:
                    details["outcome"] = "replayed"
                    response = flask.Response(
                        claim.body, status=claim.status, content_type=claim.content_type
                    )
                    response.headers["Idempotent-Replayed"] = "true"
                    return response
                continue  # this item of the batch was handed off by an earlier attempt
            # The completion rides on the publish's batch where the store allows it: the
            # request thread is then woken once for both (shared/_batching.py).
            completion = claims.completion(claim, reply) if claim is not None else None
            completed = hand_off(
                runtime, claim, provider, key, item_type, content_type, part.body, completion
            )
            handed_off += 1
            if claim is None:
                unclaimed += 1
                claims.settle(key, digest, token, reply)
            elif completion is None:
                claims.complete(claim, reply)
            else:
                claims.completed(completed)
    claims.wait_for_lease_end()
    if unclaimed:
        details["outcome"] = "accepted_unclaimed"
        details["unclaimed"] = unclaimed
    else:
        details["outcome"] = "accepted" if handed_off else "replayed"
    return flask.Response(answer_body, status=status, content_type=answer_type)


def _parts(
    provider: Provider, inbound: Inbound, body_format: str, mimetype: str
) -> list[tuple[Inbound, str]]:
    """What is handed off: the request itself, or each item of a batch.

    Items and form bodies travel as JSON, so every processor reads `Delivery.json()`.
    """
    if provider.split is not None:
        return [
            (replace(inbound, payload=item, body=_canonical(item)), "application/json")
            for item in provider.split(inbound)
        ]
    if body_format == "form":
        return [(replace(inbound, body=_canonical(inbound.payload)), "application/json")]
    return [(inbound, mimetype)]


def _canonical(value: Any) -> bytes:
    # Sorted and compact: the same item re-sent in a retry hashes to the same payload.
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _key(provider: Provider, inbound: Inbound) -> str:
    key = provider.delivery_id(inbound)
    if not key:
        raise BadRequest(f"missing delivery id ({provider.delivery_id_source})")
    if len(key) > MAX_KEY_CHARS:
        raise BadRequest(f"delivery id longer than {MAX_KEY_CHARS} characters")
    return key
