"""GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`, no timestamp.

https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.providers._core import SignedRequest, decode_hex, header, require_hmac, strip_prefix

SIGNATURE = "x-hub-signature-256"


def verify_github(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    value = strip_prefix(header(request, SIGNATURE), "sha256=", SIGNATURE)
    require_hmac(secrets, request.body, [decode_hex(value, SIGNATURE)])
