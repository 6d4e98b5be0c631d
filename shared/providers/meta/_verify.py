"""Meta (WhatsApp, Messenger, Instagram): `X-Hub-Signature-256: sha256=<hex>` over the body,
keyed with the app secret.

https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.providers._core import SignedRequest, verify_body_hmac

SIGNATURE = "x-hub-signature-256"


def verify_meta(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    verify_body_hmac(request, secrets, SIGNATURE, prefix="sha256=", encoding="hex")
