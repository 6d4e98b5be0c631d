"""How a Standard Webhooks sender signs and sends a message, for `runrun send`.

https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from shared.providers._samples import Draft, Outgoing, Samples, hmac_digest, json_post


def sign_standard(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: `v1,<base64 HMAC of "{id}.{ts}.{body}">`, keyed with the
    base64-decoded part of a `whsec_` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    message = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac_digest(key, message)).decode()


def _build(draft: Draft) -> Outgoing:
    secret = draft.secret
    if draft.bad_signature:  # still a well-formed whsec_ secret, just not the right one
        wrong = hashlib.sha256(secret.encode()).digest()
        secret = "whsec_" + base64.b64encode(wrong).decode()
    message_id = f"msg_{draft.delivery_id}"
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(draft.timestamp),
        "webhook-signature": sign_standard(secret, message_id, draft.timestamp, draft.body),
    }
    return json_post(draft, headers, ("webhook-signature",))


SAMPLES = Samples(
    Path(__file__).with_name("samples"), ("user.created", "invoice.paid"), _build, timestamped=True
)
