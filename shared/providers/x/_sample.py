"""How X signs and sends an account activity event, and its CRC check, for `runrun send`.

https://docs.x.com/x-api/webhooks/introduction
"""

from __future__ import annotations

import base64
from pathlib import Path

from shared.providers._samples import (
    Draft,
    Outgoing,
    Samples,
    hmac_digest,
    json_field,
    json_post,
    with_query,
)


def sign_x(secret: bytes, body: bytes) -> str:
    """`x-twitter-webhooks-signature`: `sha256=<base64 HMAC>`."""
    return "sha256=" + base64.b64encode(hmac_digest(secret, body)).decode()


def x_crc_response(secret: bytes, crc_token: str) -> str:
    """What X expects back for a CRC check (`response_token`)."""
    return "sha256=" + base64.b64encode(hmac_digest(secret, crc_token.encode())).decode()


def _build(draft: Draft) -> Outgoing:
    if draft.event == "crc":
        token = draft.delivery_id
        expected = x_crc_response(draft.secret.encode(), token)
        url = with_query(draft.url, crc_token=token)
        return Outgoing("GET", url, {}, b"", json_field("response_token", expected))
    name = "x-twitter-webhooks-signature"
    return json_post(draft, {name: sign_x(draft.secret.encode(), draft.body)}, (name,))


SAMPLES = Samples(
    Path(__file__).with_name("samples"),
    ("tweet_create_events", "favorite_events", "crc"),
    _build,
    bodyless=frozenset({"crc"}),
)
