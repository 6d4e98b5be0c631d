"""Dropbox: `X-Dropbox-Signature: <hex HMAC-SHA256(app secret, body)>`, no timestamp.

https://www.dropbox.com/developers/reference/webhooks#notifications
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.providers._core import SignedRequest, verify_body_hmac

SIGNATURE = "x-dropbox-signature"


def verify_dropbox(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    verify_body_hmac(request, secrets, SIGNATURE, encoding="hex")
