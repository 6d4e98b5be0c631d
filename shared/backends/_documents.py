"""Document storage for processors: a Firestore collection, or its embedded SQLite stand-in.
Processors get theirs from the runtime: `runtime.documents(name)`."""

from __future__ import annotations

import json
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared._deadline import remaining
from shared._errors import BackendUnavailable
from shared.backends._clients import backend_errors
from shared.backends._sqlite import Connections, connections


class DocumentCollection(ABC):
    @abstractmethod
    def put(self, doc_id: str, document: dict[str, Any]) -> None:
        """Create or overwrite document `doc_id`."""

    @abstractmethod
    def get(self, doc_id: str) -> dict[str, Any] | None:
        """The document, or None."""

    @abstractmethod
    def find(self, field: str, value: str | int, limit: int = 20) -> list[dict[str, Any]]:
        """Up to `limit` documents whose dotted `field` (`payload.data.object.id`) equals
        `value`; an equality on one field only, which Firestore serves without a composite
        index."""


_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _checked(field: str) -> str:
    # Field paths come from code, never from a request: refuse anything else outright.
    if not _FIELD.match(field):
        raise ValueError(f"not a field path: {field!r}")
    return field


class FirestoreCollection(DocumentCollection):
    def __init__(self, client: Callable[[], Any], name: str) -> None:
        self._client = client  # the runtime's Firestore client, built on first use
        self.name = name

    def put(self, doc_id: str, document: dict[str, Any]) -> None:
        ref = self._client().collection(self.name).document(doc_id)
        try:
            ref.set(document, retry=None, timeout=remaining())
        except backend_errors() as exc:
            raise BackendUnavailable(f"document write failed: {type(exc).__name__}", 1) from exc

    def get(self, doc_id: str) -> dict[str, Any] | None:
        ref = self._client().collection(self.name).document(doc_id)
        snapshot = ref.get(retry=None, timeout=remaining())
        return snapshot.to_dict() if snapshot.exists else None

    def find(self, field: str, value: str | int, limit: int = 20) -> list[dict[str, Any]]:
        from google.cloud.firestore_v1.base_query import FieldFilter

        query = (
            self._client()
            .collection(self.name)
            .where(filter=FieldFilter(_checked(field), "==", value))
            .limit(limit)
        )
        try:
            return [doc.to_dict() or {} for doc in query.stream(retry=None, timeout=remaining())]
        except backend_errors() as exc:
            raise BackendUnavailable(f"document query failed: {type(exc).__name__}", 1) from exc


class SqliteCollection(DocumentCollection):
    def __init__(self, path: Path, name: str) -> None:
        self.name = name
        self.path = path
        self._connections = connections(path)  # shared by every collection of the file
        self._table_made = False

    def _made(self) -> Connections:
        """The file's connections, once its table exists (made on first use)."""
        if not self._table_made:
            with self._connections.write() as conn:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS documents (collection TEXT NOT NULL,"
                    " doc_id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (collection, doc_id))"
                )
            self._table_made = True
        return self._connections

    def put(self, doc_id: str, document: dict[str, Any]) -> None:
        try:
            with self._made().write() as conn:
                conn.execute(
                    "INSERT OR REPLACE INTO documents (collection, doc_id, body) VALUES (?, ?, ?)",
                    (self.name, doc_id, json.dumps(document)),
                )
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"document write failed: {exc}", 1) from exc

    def get(self, doc_id: str) -> dict[str, Any] | None:
        with self._made().read() as conn:
            row = conn.execute(
                "SELECT body FROM documents WHERE collection = ? AND doc_id = ?",
                (self.name, doc_id),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def find(self, field: str, value: str | int, limit: int = 20) -> list[dict[str, Any]]:
        # json_extract compares the JSON value itself: 1001 matches the number, not "1001".
        with self._made().read() as conn:
            rows = conn.execute(
                "SELECT body FROM documents WHERE collection = ? AND json_extract(body, ?) = ?"
                " LIMIT ?",
                (self.name, "$." + _checked(field), value, limit),
            ).fetchall()
        return [json.loads(row[0]) for row in rows]
