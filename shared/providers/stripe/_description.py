"""`stripe_webhook`: Stripe events (evt_...), signed with the endpoint's whsec_ secret.

https://docs.stripe.com/webhooks
"""

from __future__ import annotations

from shared.providers._provider import Provider, text_of
from shared.providers.stripe._sample import SAMPLES
from shared.providers.stripe._verify import verify_stripe

STRIPE = Provider(
    target="stripe_webhook",
    secret_env="STRIPE_WEBHOOK_SECRET",
    verify=verify_stripe,
    delivery_id=lambda inbound: text_of(inbound.field("id")),
    delivery_id_source="body id",
    event_type=lambda inbound: text_of(inbound.field("type")) or "",
    samples=SAMPLES,
)
