"""Slack: `X-Slack-Signature: v0=<hex>` over `"v0:{X-Slack-Request-Timestamp}:{body}"`.

https://api.slack.com/authentication/verifying-requests-from-slack (5-minute tolerance)
"""

from __future__ import annotations

from collections.abc import Sequence

from ._core import (
    SignedRequest,
    check_timestamp,
    decode_hex,
    header,
    require_hmac,
    strip_prefix,
)

SIGNATURE = "x-slack-signature"
TIMESTAMP = "x-slack-request-timestamp"


def verify_slack(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    stamp = header(request, TIMESTAMP)
    check_timestamp(stamp, TIMESTAMP, request.now, tolerance)
    value = strip_prefix(header(request, SIGNATURE), "v0=", SIGNATURE)
    message = b"v0:" + stamp.encode() + b":" + request.body
    require_hmac(secrets, message, [decode_hex(value, SIGNATURE)])
