"""The receive pipeline's split: what a verified request hands off, the request itself or
each item of a batch, each with its delivery id (the idempotency key)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from shared._errors import BadRequest
from shared.providers import Inbound, Provider

# Idempotency keys are provider ids (GUIDs, evt_..., Ev...): far shorter than this.
MAX_KEY_CHARS = 512


def split(
    provider: Provider, inbound: Inbound, body_format: str, mimetype: str
) -> list[tuple[Inbound, str, str]]:
    """(part, content type, delivery id) for each part handed off, in order.

    Items and form bodies travel as JSON, so every processor reads `Delivery.json()`.

    Raises:
        BadRequest: a part has no delivery id, or one too long to be one.
    """
    if provider.split is not None:
        parts = [
            (replace(inbound, payload=item, body=_canonical(item)), "application/json")
            for item in provider.split(inbound)
        ]
    elif body_format == "form":
        parts = [(replace(inbound, body=_canonical(inbound.payload)), "application/json")]
    else:
        parts = [(inbound, mimetype)]
    return [(part, content_type, _key(provider, part)) for part, content_type in parts]


def _canonical(value: Any) -> bytes:
    # Sorted and compact: the same item re-sent in a retry hashes to the same payload.
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _key(provider: Provider, inbound: Inbound) -> str:
    key = provider.delivery_id(inbound)
    if not key:
        raise BadRequest(f"missing delivery id ({provider.delivery_id_source})")
    if len(key) > MAX_KEY_CHARS:
        raise BadRequest(f"delivery id longer than {MAX_KEY_CHARS} characters")
    return key
