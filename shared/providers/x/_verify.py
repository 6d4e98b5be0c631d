"""X Account Activity: `x-twitter-webhooks-signature: sha256=<base64>` over the body, keyed
with the app's consumer secret.

https://docs.x.com/x-api/webhooks/introduction (challenge-response checks and signatures)
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.providers._core import SignedRequest, verify_body_hmac

SIGNATURE = "x-twitter-webhooks-signature"


def verify_x(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    verify_body_hmac(request, secrets, SIGNATURE, prefix="sha256=", encoding="base64")
