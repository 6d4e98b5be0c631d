"""One write of the Firestore store's batch: what `FirestoreStore` queues and
`_firestore_protos` turns into a BatchWrite message (kept apart so that the store names it
without importing the client's protobuf modules)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from shared.backends.idempotency._store import Version


@dataclass(frozen=True)
class StoreWrite:
    action: Literal["create", "update", "delete"]
    doc_id: str
    fields: dict[str, Any] | None = None
    expected: Version | None = None  # the update time the document must still have
