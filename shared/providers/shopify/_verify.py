"""Shopify: `X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256(app secret, body)>`, no timestamp.

https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.providers._core import SignedRequest, verify_body_hmac

SIGNATURE = "x-shopify-hmac-sha256"


def verify_shopify(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    verify_body_hmac(request, secrets, SIGNATURE, encoding="base64")
