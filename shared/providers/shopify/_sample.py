"""How Shopify signs and sends a webhook, for `runrun send`.

https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook
"""

from __future__ import annotations

import base64
from dataclasses import replace
from pathlib import Path

from shared.providers._samples import Draft, Outgoing, Samples, hmac_digest, json_post, uuid_of


def sign_shopify(secret: bytes, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the body."""
    return base64.b64encode(hmac_digest(secret, body)).decode()


def _build(draft: Draft) -> Outgoing:
    headers = {
        "X-Shopify-Topic": draft.event,
        "X-Shopify-Hmac-Sha256": sign_shopify(draft.secret.encode(), draft.body),
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-API-Version": "2024-07",
        "X-Shopify-Webhook-Id": uuid_of(draft),
        "X-Shopify-Event-Id": uuid_of(replace(draft, delivery_id="event:" + draft.delivery_id)),
    }
    return json_post(draft, headers, ("X-Shopify-Hmac-Sha256",))


SAMPLES = Samples(Path(__file__).with_name("samples"), ("orders/create", "products/update"), _build)
