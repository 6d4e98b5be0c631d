"""Store: write every delivery to a document collection (document id = delivery id).

Firestore collection RUNRUN_EVENTS_COLLECTION when the Firestore store is selected,
otherwise a table of the same name in the embedded SQLite state. Writing is a `set`, so a
rerun after a partial failure overwrites with the same content.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared._delivery import Delivery
from shared.processing import ProcessorContext, Registration
from shared.settings import Settings


@dataclass(frozen=True)
class StoreSettings:
    collection: str  # RUNRUN_EVENTS_COLLECTION


def store(delivery: Delivery, context: ProcessorContext[StoreSettings, Any]) -> None:
    document: dict[str, Any] = {
        "source": delivery.source,
        "delivery_id": delivery.delivery_id,
        "event_type": delivery.event_type,
        "received_at": delivery.received_at,
        "content_type": delivery.content_type,
        "payload": delivery.json(),
    }
    with context.deadline():
        context.documents(context.settings.collection).put(delivery.delivery_id, document)


def _settings(settings: Settings) -> StoreSettings:
    return StoreSettings(collection=settings.events_collection)


PROCESSOR = Registration("store", store, settings=_settings)

__all__ = [
    "PROCESSOR",
    "StoreSettings",
    "store",
]
