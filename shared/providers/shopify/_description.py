"""`shopify_webhook`: Shopify app and shop webhooks (orders/create, products/update...).

https://shopify.dev/docs/apps/build/webhooks
"""

from __future__ import annotations

from shared.providers._provider import Provider
from shared.providers.shopify._sample import SAMPLES
from shared.providers.shopify._verify import verify_shopify

SHOPIFY = Provider(
    target="shopify_webhook",
    secret_env="SHOPIFY_WEBHOOK_SECRET",
    verify=verify_shopify,
    # Stable across Shopify's retries (X-Shopify-Event-Id is per event, shared by topics).
    delivery_id=lambda inbound: inbound.headers.get("x-shopify-webhook-id", "").strip() or None,
    delivery_id_source="header X-Shopify-Webhook-Id",
    event_type=lambda inbound: inbound.headers.get("x-shopify-topic", "").strip(),
    answer_window_seconds=5,  # Shopify: about 5 s
    samples=SAMPLES,
)
