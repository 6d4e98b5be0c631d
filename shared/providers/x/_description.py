"""`x_webhook`: X (Twitter) Account Activity API events.

https://docs.x.com/x-api/webhooks/introduction
"""

from __future__ import annotations

import hashlib

from shared.providers._handshake import x_crc
from shared.providers._provider import Inbound, Provider, text_of
from shared.providers.x._sample import SAMPLES
from shared.providers.x._verify import verify_x

SECRET_ENV = "X_CONSUMER_SECRET"


def _event_type(inbound: Inbound) -> str:
    # One kind of event per request: tweet_create_events, favorite_events, ...
    return next((name for name in inbound.payload if name.endswith("_events")), "")


def _delivery_id(inbound: Inbound) -> str:
    # X sends no delivery id; the events' own ids are stable across a resend, and the
    # body's hash stands in for kinds without ids (follow_events...).
    kind = _event_type(inbound)
    events = inbound.field(kind) if kind else None
    ids = [
        text_of(e.get("id_str")) or text_of(e.get("id"))
        for e in (events if isinstance(events, list) else [])
        if isinstance(e, dict)
    ]
    user = text_of(inbound.field("for_user_id")) or ""
    if ids and all(ids):
        joined = ",".join(i for i in ids if i)
        if len(joined) <= 256:
            return f"{user}:{kind}:{joined}"
    return f"{user}:{kind}:sha256:{hashlib.sha256(inbound.body).hexdigest()}"


X = Provider(
    target="x_webhook",
    secret_env=SECRET_ENV,
    verify=verify_x,
    delivery_id=_delivery_id,
    delivery_id_source="for_user_id + event ids, or the body's SHA-256",
    event_type=_event_type,
    handshake=x_crc(SECRET_ENV),
    methods=("GET", "POST"),
    samples=SAMPLES,
)
