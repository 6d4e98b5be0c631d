"""Store: write every delivery to a document collection (document id = delivery id).

Firestore collection RUNRUN_EVENTS_COLLECTION when the Firestore store is selected,
otherwise a table of the same name in the embedded SQLite state. Writing is a `set`, so a
rerun after a partial failure overwrites with the same content.
"""

from typing import Any

from shared import Delivery, Runtime

from . import registry


@registry.register(name="store")
def store(delivery: Delivery, runtime: Runtime) -> None:
    document: dict[str, Any] = {
        "source": delivery.source,
        "delivery_id": delivery.delivery_id,
        "event_type": delivery.event_type,
        "received_at": delivery.received_at,
        "content_type": delivery.content_type,
        "payload": delivery.json(),
    }
    with runtime.deadline():
        documents = runtime.documents(runtime.settings.events_collection)
        documents.put(delivery.delivery_id, document)
