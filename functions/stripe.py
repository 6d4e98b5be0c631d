"""`stripe_webhook`: Stripe events (evt_...), signed with the endpoint's whsec_ secret.

https://docs.stripe.com/webhooks
"""

import flask
import functions_framework

from shared import Provider, receive, text_of
from shared.providers import verify_stripe

STRIPE = Provider(
    target="stripe_webhook",
    secret_env="STRIPE_WEBHOOK_SECRET",
    verify=verify_stripe,
    delivery_id=lambda inbound: text_of(inbound.field("id")),
    delivery_id_source="body id",
    event_type=lambda inbound: text_of(inbound.field("type")) or "",
)


@functions_framework.http
def stripe_webhook(request: flask.Request) -> flask.Response:
    return receive(request, STRIPE)
