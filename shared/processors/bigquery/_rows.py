"""One delivery as one BigQuery row, and the table's schema (kept in code, created if missing).

Beside the envelope (source, delivery id, event type, received_at) and the payload as JSON,
a few columns are pulled out of the providers' payloads where a query wants them without
JSON functions: Stripe's amount and currency, GitHub's repository.
"""

from __future__ import annotations

import json
from typing import Any

from shared._delivery import Delivery

# (name, type, mode): turned into SchemaFields by the writer, so that this module stays free
# of the client library (and its import time).
SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("source", "STRING", "REQUIRED"),
    ("delivery_id", "STRING", "REQUIRED"),
    ("event_type", "STRING", "NULLABLE"),
    ("received_at", "TIMESTAMP", "NULLABLE"),
    ("payload", "JSON", "NULLABLE"),
    ("stripe_amount", "INTEGER", "NULLABLE"),
    ("stripe_currency", "STRING", "NULLABLE"),
    ("github_repository", "STRING", "NULLABLE"),
)

# Stripe names the amount after the object: a PaymentIntent's `amount`, an Invoice's
# `amount_paid`, a Checkout Session's `amount_total`, a Charge's `amount`.
_STRIPE_AMOUNTS = ("amount", "amount_paid", "amount_total", "amount_received")


def _stripe(payload: Any) -> dict[str, Any]:
    data = payload.get("data") if isinstance(payload, dict) else None
    obj = data.get("object") if isinstance(data, dict) else None
    if not isinstance(obj, dict):
        return {}
    amount = next(
        (obj[k] for k in _STRIPE_AMOUNTS if isinstance(obj.get(k), int) and obj[k] is not True),
        None,
    )
    currency = obj.get("currency")
    return {
        "stripe_amount": amount,
        "stripe_currency": currency if isinstance(currency, str) else None,
    }


def _github(payload: Any) -> dict[str, Any]:
    repository = payload.get("repository") if isinstance(payload, dict) else None
    name = repository.get("full_name") if isinstance(repository, dict) else None
    return {"github_repository": name if isinstance(name, str) else None}


_EXTRACTORS = {"stripe_webhook": _stripe, "github_webhook": _github}


def row_for(delivery: Delivery) -> dict[str, Any]:
    payload = delivery.json()
    row: dict[str, Any] = {
        "source": delivery.source,
        "delivery_id": delivery.delivery_id,
        "event_type": delivery.event_type or None,
        "received_at": delivery.received_at or None,
        # insertAll takes a JSON column as its JSON text.
        "payload": json.dumps(payload, separators=(",", ":")),
    }
    extract = _EXTRACTORS.get(delivery.source)
    if extract is not None:
        row.update(extract(payload))
    return row
