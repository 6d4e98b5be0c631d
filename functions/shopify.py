"""`shopify_webhook`: Shopify app and shop webhooks (orders/create, products/update...).

https://shopify.dev/docs/apps/build/webhooks
"""

import flask
import functions_framework

from shared import Provider, receive
from shared.providers import verify_shopify

SHOPIFY = Provider(
    target="shopify_webhook",
    secret_env="SHOPIFY_WEBHOOK_SECRET",
    verify=verify_shopify,
    # Stable across Shopify's retries (X-Shopify-Event-Id is per event, shared by topics).
    delivery_id=lambda inbound: inbound.headers.get("x-shopify-webhook-id", "").strip() or None,
    delivery_id_source="header X-Shopify-Webhook-Id",
    event_type=lambda inbound: inbound.headers.get("x-shopify-topic", "").strip(),
    answer_window_seconds=5,  # Shopify: about 5 s
)


@functions_framework.http
def shopify_webhook(request: flask.Request) -> flask.Response:
    return receive(request, SHOPIFY)
