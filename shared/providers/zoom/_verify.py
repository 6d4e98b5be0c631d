"""Zoom: `x-zm-signature: v0=<hex>` over `"v0:{x-zm-request-timestamp}:{body}"`.

Zoom publishes no tolerance, only "reject stale requests": the global
RUNRUN_TIMESTAMP_TOLERANCE_SECONDS applies unless ZOOM_TIMESTAMP_TOLERANCE_SECONDS is set.
https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.providers._core import SignedRequest, require_v0_timestamped

SIGNATURE = "x-zm-signature"
TIMESTAMP = "x-zm-request-timestamp"


def verify_zoom(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    require_v0_timestamped(request, secrets, tolerance, signature=SIGNATURE, timestamp=TIMESTAMP)
