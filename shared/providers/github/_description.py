"""`github_webhook`: GitHub repository and organization webhooks.

https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
"""

from __future__ import annotations

from shared.providers._provider import Inbound, Provider
from shared.providers.github._sample import SAMPLES
from shared.providers.github._verify import verify_github


def _event(inbound: Inbound) -> str:
    return inbound.headers.get("x-github-event", "").strip()


GITHUB = Provider(
    target="github_webhook",
    secret_env="GITHUB_WEBHOOK_SECRET",
    verify=verify_github,
    delivery_id=lambda inbound: inbound.headers.get("x-github-delivery", "").strip() or None,
    delivery_id_source="header X-GitHub-Delivery",
    event_type=_event,
    # GitHub sends `ping` when a hook is created: nothing to process.
    ignore=lambda inbound: _event(inbound) == "ping",
    answer_window_seconds=10,  # GitHub: 10 s
    samples=SAMPLES,
)
