"""Answers to providers' ownership checks (challenge handshakes)."""

from __future__ import annotations

from typing import Any

import flask

from ._provider import Inbound


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
