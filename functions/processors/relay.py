"""Relay: POST every delivery to RUNRUN_RELAY_URL (an internal service, a partner...);
switched off while the URL is unset.

The receiving side sees `Idempotency-Key: <delivery id>`, so a relay retried after a
timeout can be deduplicated there as well.
"""

from shared import Delivery, Runtime, Settings

from . import registry

RELAY_TIMEOUT_SECONDS = 10


def _configured(settings: Settings) -> bool:
    return settings.relay_url is not None


@registry.register(name="relay", enabled=_configured)
def relay(delivery: Delivery, runtime: Runtime) -> None:
    url = runtime.settings.relay_url
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
