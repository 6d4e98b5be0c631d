"""Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]` over `"{t}.{body}"`.

Several v1 entries appear while a secret is being rolled; any one matching is enough.
Unknown schemes (v0, future ones) are ignored, as Stripe's SDKs do.
https://docs.stripe.com/webhooks#verify-manually
"""

from __future__ import annotations

from collections.abc import Sequence

from shared._errors import VerificationFailed
from shared.providers._core import SignedRequest, check_timestamp, decode_hex, header, require_hmac

SIGNATURE = "stripe-signature"


def verify_stripe(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    timestamps: list[str] = []
    signatures: list[bytes] = []
    for item in header(request, SIGNATURE).split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise VerificationFailed(f"malformed {SIGNATURE} header: expected key=value items")
        if key == "t":
            timestamps.append(value)
        elif key == "v1":
            signatures.append(decode_hex(value, SIGNATURE))
    if len(timestamps) != 1:
        raise VerificationFailed(f"malformed {SIGNATURE} header: expected exactly one t=")
    if not signatures:
        raise VerificationFailed(f"malformed {SIGNATURE} header: no v1 signature")
    check_timestamp(timestamps[0], f"{SIGNATURE} timestamp", request.now, tolerance)
    require_hmac(secrets, timestamps[0].encode() + b"." + request.body, signatures)
