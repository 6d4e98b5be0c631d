"""How Stripe signs and sends an event, for `runrun send`.

https://docs.stripe.com/webhooks#verify-manually
"""

from __future__ import annotations

from pathlib import Path

from shared.providers._samples import Draft, Outgoing, Samples, hmac_digest, json_post


def sign_stripe(secret: bytes, timestamp: int, body: bytes) -> str:
    """`Stripe-Signature`: `t=<unix>,v1=<hex HMAC of "{t}.{body}">`."""
    signature = hmac_digest(secret, f"{timestamp}.".encode() + body).hex()
    return f"t={timestamp},v1={signature}"


def _build(draft: Draft) -> Outgoing:
    signature = sign_stripe(draft.secret.encode(), draft.timestamp, draft.body)
    headers = {"User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    return json_post(draft, {**headers, "Stripe-Signature": signature}, ("Stripe-Signature",))


SAMPLES = Samples(
    Path(__file__).with_name("samples"),
    ("invoice.paid", "payment_intent.succeeded", "checkout.session.completed"),
    _build,
    timestamped=True,
)
