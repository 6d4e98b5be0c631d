"""`graph_webhook`: Microsoft Graph change notifications (and lifecycle notifications).

https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from shared.providers._handshake import query_echo
from shared.providers._provider import Inbound, Provider, text_of
from shared.providers.graph._sample import SAMPLES
from shared.providers.graph._verify import verify_graph


def _notifications(inbound: Inbound) -> list[dict[str, Any]]:
    # Graph batches notifications and retries them for up to 4 h, possibly regrouped: each
    # notification is claimed and handed off on its own, so a retried batch only re-sends
    # what was not yet accepted. clientState is the shared secret: it stays here.
    value = inbound.field("value")
    return [
        {name: field for name, field in item.items() if name != "clientState"}
        for item in (value if isinstance(value, list) else [])
        if isinstance(item, dict)
    ]


def _delivery_id(inbound: Inbound) -> str:
    # `id` is documented as optional: without it, the notification's content identifies it.
    return text_of(inbound.field("id")) or "sha256:" + hashlib.sha256(inbound.body).hexdigest()


def _accepted(keys: Sequence[str]) -> tuple[int, str, str]:
    # Graph asks for 202 Accepted once the work is queued.
    return 202, json.dumps({"status": "accepted", "delivery_ids": list(keys)}), "application/json"


GRAPH = Provider(
    target="graph_webhook",
    secret_env="GRAPH_CLIENT_STATE",
    verify=verify_graph,
    delivery_id=_delivery_id,
    delivery_id_source="notification id",
    event_type=lambda i: text_of(i.field("changeType")) or text_of(i.field("lifecycleEvent")) or "",
    handshake=query_echo("POST", "validationToken"),
    split=_notifications,
    answer=_accepted,
    answer_window_seconds=3,  # Graph: 3 s, then 202 and queue the work
    samples=SAMPLES,
)
