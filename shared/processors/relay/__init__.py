"""Relay: POST every delivery to RUNRUN_RELAY_URL (an internal service, a partner...);
switched off while the URL is unset.

The receiving side sees `Idempotency-Key: <delivery id>`: a relay run again (after a timeout,
or after a crash between the POST and the run's completion record) carries the same key and
body, and the receiver keeps one effect per key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared._delivery import Delivery
from shared.processing import ProcessorContext, Registration
from shared.settings import Settings, env_text

RELAY_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class RelaySettings:
    url: str | None  # RUNRUN_RELAY_URL

    @classmethod
    def from_env(cls, settings: Settings) -> RelaySettings:
        return cls(url=env_text("RUNRUN_RELAY_URL") or None)


def relay(delivery: Delivery, context: ProcessorContext[RelaySettings, Any]) -> None:
    url = context.settings.url
    assert url is not None  # `enabled` keeps unconfigured relays from running
    import requests  # only a configured relay needs it: kept off every cold start

    response = requests.post(
        url,
        data=delivery.data,
        headers={
            "Content-Type": delivery.content_type or "application/json",
            "Idempotency-Key": delivery.delivery_id,
            "X-Runrun-Source": delivery.source,
            "X-Runrun-Event-Type": delivery.event_type,
        },
        timeout=RELAY_TIMEOUT_SECONDS,
    )
    # Any non-2xx raises, so the delivery is retried rather than dropped.
    response.raise_for_status()


def _configured(block: RelaySettings) -> bool:
    return block.url is not None


PROCESSOR = Registration("relay", relay, settings=RelaySettings.from_env, enabled=_configured)

__all__ = [
    "PROCESSOR",
    "RelaySettings",
    "relay",
]
