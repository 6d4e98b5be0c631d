"""How Slack signs and sends an event, for `runrun send`.

https://api.slack.com/authentication/verifying-requests-from-slack
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from shared.providers._samples import Draft, Outgoing, Samples, echoed, hmac_digest, json_post


def sign_slack(secret: bytes, timestamp: int, body: bytes) -> str:
    """`X-Slack-Signature`: `v0=<hex HMAC of "v0:{ts}:{body}">`."""
    return "v0=" + hmac_digest(secret, f"v0:{timestamp}:".encode() + body).hex()


def _build(draft: Draft) -> Outgoing:
    headers = {
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": str(draft.timestamp),
        "X-Slack-Signature": sign_slack(draft.secret.encode(), draft.timestamp, draft.body),
    }
    out = json_post(draft, headers, ("X-Slack-Signature",))
    if draft.event == "url_verification":
        return replace(out, check=echoed(str(json.loads(draft.body).get("challenge", ""))))
    return out


SAMPLES = Samples(
    Path(__file__).with_name("samples"),
    ("message", "app_mention", "url_verification"),
    _build,
    timestamped=True,
)
