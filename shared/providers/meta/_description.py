"""`meta_webhook`: Meta Graph webhooks for WhatsApp Business, Messenger and Instagram.

https://developers.facebook.com/docs/graph-api/webhooks/getting-started
"""

from __future__ import annotations

import hashlib
from typing import Any

from shared.providers._handshake import meta_subscribe
from shared.providers._provider import Inbound, Provider, text_of
from shared.providers.meta._sample import SAMPLES
from shared.providers.meta._verify import verify_meta


def _items(inbound: Inbound) -> list[dict[str, Any]]:
    # One request batches many updates (several entries, each with several changes or
    # messaging events) and Meta sends no delivery id. Each update is its own delivery, keyed
    # by its message id: a retried batch may be regrouped, and only per-update keys still
    # recognise what was already handed off.
    items: list[dict[str, Any]] = []
    entries = inbound.field("entry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        base = {"object": inbound.field("object"), "entry_id": entry.get("id")}
        base["time"] = entry.get("time")
        for name, updates in entry.items():
            for update in updates if isinstance(updates, list) else []:
                if name == "changes" and isinstance(update, dict):
                    items.append(
                        {**base, "field": update.get("field"), "value": update.get("value")}
                    )
                else:  # messaging, standby...: the event as sent
                    items.append({**base, "field": name, name: update})
    return items


def _ids(item: dict[str, Any]) -> list[str]:
    value = item.get("value")
    value = value if isinstance(value, dict) else {}
    ids = [text_of(m.get("id")) for m in value.get("messages") or [] if isinstance(m, dict)]
    # A WhatsApp message id comes back once per status (sent, delivered, read).
    for status in value.get("statuses") or []:
        if isinstance(status, dict) and text_of(status.get("id")):
            ids.append(f"{status['id']}:{text_of(status.get('status'))}")
    event = item.get(str(item.get("field")))
    if isinstance(event, dict) and isinstance(event.get("message"), dict):
        ids.append(text_of(event["message"].get("mid")))
    return [i for i in ids if i]


def _delivery_id(inbound: Inbound) -> str:
    ids = _ids(inbound.payload)
    if ids:
        return f"{inbound.payload.get('field')}:{'|'.join(ids)}"[:512]
    # No message id (account updates, reads): the update's own content identifies it.
    return "sha256:" + hashlib.sha256(inbound.body).hexdigest()


META = Provider(
    target="meta_webhook",
    secret_env="META_APP_SECRET",
    hook_envs=("META_VERIFY_TOKEN",),
    verify=verify_meta,
    delivery_id=_delivery_id,
    delivery_id_source="message ids (wamid, mid) or the update's SHA-256",
    event_type=lambda inbound: text_of(inbound.field("field")) or "",
    handshake=meta_subscribe("META_VERIFY_TOKEN"),
    methods=("GET", "POST"),
    split=_items,
    samples=SAMPLES,
)
