"""Relay: POST every delivery to RUNRUN_RELAY_URL (an internal service, a partner...).

The receiving side sees `Idempotency-Key: <delivery id>`, so a relay retried after a
timeout can be deduplicated there as well.
"""

import requests

from shared import Delivery, get_settings

from . import registry

RELAY_TIMEOUT_SECONDS = 10


@registry.register(name="relay")
def relay(delivery: Delivery) -> None:
    url = get_settings().relay_url
    if not url:
        return
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
