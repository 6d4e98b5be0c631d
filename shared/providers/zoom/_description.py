"""`zoom_webhook`: Zoom event subscriptions (meeting.started, recording.completed...).

https://developers.zoom.us/docs/api/webhooks/
"""

from __future__ import annotations

import hashlib
import json

from shared.providers._handshake import zoom_url_validation
from shared.providers._provider import Inbound, Provider, text_of
from shared.providers.zoom._sample import SAMPLES
from shared.providers.zoom._verify import verify_zoom

SECRET_ENV = "ZOOM_WEBHOOK_SECRET_TOKEN"


def _delivery_id(inbound: Inbound) -> str | None:
    # Zoom publishes no delivery id. event + event_ts (ms) alone collide when many meetings
    # fire the same event in one millisecond, so the event's own payload is part of the key:
    # a retry re-sends the same event, hence the same key.
    event, stamp = text_of(inbound.field("event")), text_of(inbound.field("event_ts"))
    if not event or not stamp:
        return None
    payload = json.dumps(inbound.field("payload"), sort_keys=True, separators=(",", ":"))
    return f"{event}:{stamp}:{hashlib.sha256(payload.encode()).hexdigest()[:32]}"


ZOOM = Provider(
    target="zoom_webhook",
    secret_env=SECRET_ENV,
    verify=verify_zoom,
    delivery_id=_delivery_id,
    delivery_id_source="body event + event_ts + payload",
    event_type=lambda inbound: text_of(inbound.field("event")) or "",
    challenge=zoom_url_validation(SECRET_ENV),
    tolerance_env="ZOOM_TIMESTAMP_TOLERANCE_SECONDS",
    answer_window_seconds=3,  # Zoom: 3 s
    samples=SAMPLES,
)
