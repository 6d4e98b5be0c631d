"""How Zoom signs and sends an event, and its URL validation, for `runrun send`.

https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from shared.providers._samples import Answer, Draft, Outgoing, Samples, hmac_digest, json_post


def sign_zoom(secret: bytes, timestamp: int, body: bytes) -> str:
    """`x-zm-signature`: the same shape as Slack's."""
    return "v0=" + hmac_digest(secret, f"v0:{timestamp}:".encode() + body).hex()


def zoom_encrypted_token(secret: bytes, plain_token: str) -> str:
    """What Zoom expects back for `endpoint.url_validation`."""
    return hmac_digest(secret, plain_token.encode()).hex()


def _build(draft: Draft) -> Outgoing:
    headers = {
        "User-Agent": "Zoom Marketplace/1.0a",
        "x-zm-request-timestamp": str(draft.timestamp),
        "x-zm-signature": sign_zoom(draft.secret.encode(), draft.timestamp, draft.body),
    }
    out = json_post(draft, headers, ("x-zm-signature",))
    if draft.event != "endpoint.url_validation":
        return out
    plain = str(json.loads(draft.body).get("payload", {}).get("plainToken", ""))
    expected = {
        "plainToken": plain,
        "encryptedToken": zoom_encrypted_token(draft.secret.encode(), plain),
    }

    def check(answer: Answer) -> str | None:
        if answer.status != 200:
            return f"HTTP {answer.status}: the validation needs 200"
        try:
            got = json.loads(answer.body)
        except ValueError:
            return "the answer is not JSON"
        return None if got == expected else "plainToken/encryptedToken do not match"

    return replace(out, check=check)


SAMPLES = Samples(
    Path(__file__).with_name("samples"),
    ("meeting.started", "endpoint.url_validation"),
    _build,
    timestamped=True,
)
