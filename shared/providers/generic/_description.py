"""`generic_webhook`: any sender that can set a shared secret header.

Authorized by env WEBHOOK_SECRET sent as header `Secret` or `Authorization: Bearer`.
"""

from __future__ import annotations

import hashlib

from shared.providers._handshake import echo_challenge
from shared.providers._provider import Inbound, Provider, text_of
from shared.providers._secret import verify_shared_secret
from shared.providers.generic._sample import SAMPLES


def _delivery_id(inbound: Inbound) -> str | None:
    # The caller's own key first (IETF Idempotency-Key, then Standard Webhooks' id), then the
    # event's id; a body with none of those is identified by its content.
    return (
        inbound.headers.get("idempotency-key", "").strip()
        or inbound.headers.get("webhook-id", "").strip()
        or text_of(inbound.field("id"))
        or hashlib.sha256(inbound.body).hexdigest()
    )


GENERIC = Provider(
    target="generic_webhook",
    secret_env="WEBHOOK_SECRET",
    verify=verify_shared_secret,
    delivery_id=_delivery_id,
    delivery_id_source="Idempotency-Key, webhook-id, body id or the body's SHA-256",
    event_type=lambda inbound: text_of(inbound.field("type")) or "event",
    challenge=echo_challenge,
    samples=SAMPLES,
)
