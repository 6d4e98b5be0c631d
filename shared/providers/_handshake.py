"""Answers to providers' ownership checks (challenge handshakes)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import flask

from shared._errors import BadRequest, Forbidden, VerificationFailed
from shared.providers._core import require_secret, sign
from shared.providers._provider import Handshake, Inbound

InboundHook = Callable[[Inbound], flask.Response | None]
EarlyHook = Callable[[Handshake], flask.Response | None]


def text(value: str) -> flask.Response:
    """A plain-text echo that no browser will sniff into HTML."""
    response = flask.Response(value, status=200, content_type="text/plain; charset=utf-8")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _challenge_value(inbound: Inbound) -> str | None:
    challenge: Any = inbound.field("challenge")
    if isinstance(challenge, str | int) and not isinstance(challenge, bool):
        return str(challenge)
    return None


def echo_challenge(inbound: Inbound) -> flask.Response | None:
    """The seed's convention: `{"challenge": ...}` alone, or with type url_verification."""
    challenge = _challenge_value(inbound)
    if challenge is None or not isinstance(inbound.payload, dict):
        return None
    others = set(inbound.payload) - {"challenge", "token", "type"}
    if inbound.payload.get("type") == "url_verification" or (
        not others and "type" not in inbound.payload
    ):
        return text(challenge)
    return None


def slack_url_verification(inbound: Inbound) -> flask.Response | None:
    """https://api.slack.com/events/url_verification: answer the challenge, signed request."""
    if inbound.field("type") != "url_verification":
        return None
    challenge = _challenge_value(inbound)
    return text(challenge) if challenge is not None else None


def _json(body: dict[str, str]) -> flask.Response:
    return flask.Response(json.dumps(body), status=200, content_type="application/json")


# Where a challenge answer is keyed with a secret, the FIRST value of the env var is used:
# during a rotation, list the new secret first.


def zoom_url_validation(env: str) -> InboundHook:
    """Zoom's signed `endpoint.url_validation`: plainToken + hex HMAC(secret, plainToken).

    https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
    """

    def answer(inbound: Inbound) -> flask.Response | None:
        if inbound.field("event") != "endpoint.url_validation":
            return None
        plain = inbound.field("payload", "plainToken")
        if not isinstance(plain, str) or not plain:
            raise BadRequest("endpoint.url_validation without payload.plainToken")
        encrypted = sign(inbound.secret(env)[0], plain.encode()).hex()
        return _json({"plainToken": plain, "encryptedToken": encrypted})

    return answer


def meta_subscribe(env: str) -> EarlyHook:
    """Meta's GET `hub.mode=subscribe`: echo hub.challenge if hub.verify_token is ours, else 403.

    https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
    """

    def answer(check: Handshake) -> flask.Response | None:
        if check.method != "GET" or not any(name.startswith("hub.") for name in check.query):
            return None
        if check.query.get("hub.mode") != "subscribe":
            raise Forbidden("hub.mode must be subscribe")
        try:
            require_secret(check.secret(env), check.query.get("hub.verify_token", ""))
        except VerificationFailed:
            raise Forbidden("hub.verify_token does not match") from None
        challenge = check.query.get("hub.challenge", "")
        if not challenge:
            raise BadRequest("missing hub.challenge")
        return text(challenge)

    return answer


def x_crc(env: str) -> EarlyHook:
    """X's challenge-response check: GET ?crc_token=T answered with
    `{"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret, T))}`."""

    def answer(check: Handshake) -> flask.Response | None:
        if check.method != "GET" or "crc_token" not in check.query:
            return None
        token = check.query["crc_token"]
        if not token:
            raise BadRequest("empty crc_token")
        digest = sign(check.secret(env)[0], token.encode())
        return _json({"response_token": "sha256=" + base64.b64encode(digest).decode()})

    return answer


def query_echo(method: str, name: str) -> EarlyHook:
    """Echo query parameter `name` of a `method` request as text/plain (nosniff): Dropbox's
    GET ?challenge=, Microsoft Graph's POST ?validationToken= (already URL-decoded)."""

    def answer(check: Handshake) -> flask.Response | None:
        if check.method != method or name not in check.query:
            return None
        value = check.query[name]
        if not value:
            raise BadRequest(f"empty {name}")
        return text(value)

    return answer
