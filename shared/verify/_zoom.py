"""Zoom: `x-zm-signature: v0=<hex>` over `"v0:{x-zm-request-timestamp}:{body}"`.

Zoom publishes no tolerance, only "reject stale requests": the global
RUNRUN_TIMESTAMP_TOLERANCE_SECONDS applies unless ZOOM_TIMESTAMP_TOLERANCE_SECONDS is set.
https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
"""

from __future__ import annotations

from collections.abc import Sequence

from ._core import SignedRequest, check_timestamp, decode_hex, header, require_hmac, strip_prefix

SIGNATURE = "x-zm-signature"
TIMESTAMP = "x-zm-request-timestamp"


def verify_zoom(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    stamp = header(request, TIMESTAMP)
    check_timestamp(stamp, TIMESTAMP, request.now, tolerance)
    value = strip_prefix(header(request, SIGNATURE), "v0=", SIGNATURE)
    message = b"v0:" + stamp.encode() + b":" + request.body
    require_hmac(secrets, message, [decode_hex(value, SIGNATURE)])
