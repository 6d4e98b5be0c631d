"""Slack: `X-Slack-Signature: v0=<hex>` over `"v0:{X-Slack-Request-Timestamp}:{body}"`.

https://api.slack.com/authentication/verifying-requests-from-slack (5-minute tolerance)
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.providers._core import SignedRequest, require_v0_timestamped

SIGNATURE = "x-slack-signature"
TIMESTAMP = "x-slack-request-timestamp"


def verify_slack(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    require_v0_timestamped(request, secrets, tolerance, signature=SIGNATURE, timestamp=TIMESTAMP)
