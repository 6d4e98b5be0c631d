"""Microsoft Graph change notifications: no signature; every notification in the batch
carries `clientState`, which must equal the secret set on the subscription.

A single foreign notification refuses the whole batch: a batch is one request from one
sender, and a sender that gets one clientState wrong is not Graph.
https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from shared._errors import VerificationFailed
from shared.providers._core import SignedRequest, require_secret


def verify_graph(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    try:
        payload = json.loads(request.body)
    except (ValueError, RecursionError):
        raise VerificationFailed("body is not a JSON notification batch") from None
    notifications = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(notifications, list) or not notifications:
        raise VerificationFailed("no notifications in the batch")
    for notification in notifications:
        state = notification.get("clientState") if isinstance(notification, dict) else None
        if not isinstance(state, str) or not state:
            raise VerificationFailed("a notification has no clientState")
        require_secret(secrets, state)
