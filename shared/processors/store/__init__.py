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
from shared.settings import Settings, env_text


@dataclass(frozen=True)
class EventsSettings:
    collection: str  # RUNRUN_EVENTS_COLLECTION

    @classmethod
    def from_env(cls, settings: Settings) -> EventsSettings:
        return cls(collection=env_text("RUNRUN_EVENTS_COLLECTION") or "webhook_events")


def store(delivery: Delivery, context: ProcessorContext[EventsSettings, Any]) -> None:
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


PROCESSOR = Registration("store", store, settings=EventsSettings.from_env)

__all__ = [
    "PROCESSOR",
    "EventsSettings",
    "store",
]
