"""The embedded default IdempotencyStore: one SQLite file, safe across threads and processes.

Each statement is atomic on its own (INSERT OR IGNORE, UPDATE/DELETE ... WHERE version = ?)
and reports by its row count whether its condition held; WAL lets readers proceed while a
writer commits. Writes from concurrent requests are group-committed (shared/backends/_batching.py):
one transaction runs each caller's statement in turn, so the writers of a batch take the
file's write lock once instead of taking turns for it one by one.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared._deadline import deadline_scope, remaining
from shared._errors import BackendUnavailable
from shared.backends._batching import Batcher
from shared.backends._sqlite import connections
from shared.backends.idempotency._store import IdempotencyRecord, IdempotencyStore, Version

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency_keys (
    doc_id TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    lease_expires_at REAL NOT NULL,
    expire_at REAL NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    response_content_type TEXT,
    version INTEGER NOT NULL,
    claim_token TEXT NOT NULL DEFAULT ''
)
"""
_COLUMNS = (
    "target, key, status, payload_hash, lease_expires_at, expire_at, "
    "response_status, response_body, response_content_type, claim_token"
)


def _new_version() -> int:
    """A fresh random version. Not a per-row counter: that restarts at 1 when a released
    key is claimed again, so a stale claim could complete or release the new owner (ABA)."""
    return secrets.randbits(62) + 1


def _record(row: tuple[Any, ...]) -> IdempotencyRecord:
    return IdempotencyRecord(
        target=row[0],
        key=row[1],
        status=row[2],
        payload_hash=row[3],
        lease_expires_at=datetime.fromtimestamp(row[4], UTC),
        expire_at=datetime.fromtimestamp(row[5], UTC),
        response_status=row[6],
        response_body=row[7],
        response_content_type=row[8],
        claim_token=row[9],
    )


class SqliteStore(IdempotencyStore):
    def __init__(self, path: Path, *, legacy: Path | None = None) -> None:
        """`legacy`: a file that held the records before they moved into `path` (the local
        queue's file, so that a delivery's claim and message share one transaction); its
        records are copied in once, and the file is left as it was."""
        self.path = path
        self._connections = connections(path)  # shared with the local queue's, same file
        self._writes: Batcher[tuple[str, tuple[Any, ...]], int] = Batcher(
            "idempotency store", self._write_batch
        )
        try:  # fail at start, not on the first delivery
            with self._connections.write(within_deadline=False) as conn:
                conn.execute(_SCHEMA)
                self._add_claim_token_column(conn)
        except sqlite3.Error as exc:
            raise BackendUnavailable(f"idempotency store unusable: {exc}", retry_after=5) from exc
        if legacy is not None:
            try:
                self._absorb(legacy)
            except sqlite3.Error as exc:
                raise BackendUnavailable(
                    f"could not copy the idempotency records of {legacy}: {exc}", retry_after=5
                ) from exc

    @staticmethod
    def _add_claim_token_column(conn: sqlite3.Connection) -> None:
        """A file written before claim tokens existed gets the column (empty for old rows)."""
        columns = {row[1] for row in conn.execute("PRAGMA table_info(idempotency_keys)")}
        if "claim_token" not in columns:
            conn.execute(
                "ALTER TABLE idempotency_keys ADD COLUMN claim_token TEXT NOT NULL DEFAULT ''"
            )

    def _absorb(self, legacy: Path) -> None:
        """Copy the records of `legacy` in, once per file (several processes may start at
        the same time: the write lock and the `absorbed` table make it happen once)."""
        with self._connections.write(within_deadline=False) as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS absorbed (name TEXT PRIMARY KEY)")
            if (
                not legacy.exists()
                or conn.execute("SELECT 1 FROM absorbed WHERE name = ?", (legacy.name,)).fetchone()
            ):
                return
            conn.execute("ATTACH DATABASE ? AS legacy", (str(legacy),))
            try:
                tables = conn.execute(
                    "SELECT 1 FROM legacy.sqlite_master WHERE name = 'idempotency_keys'"
                ).fetchone()
                columns = {
                    row[1] for row in conn.execute("PRAGMA legacy.table_info(idempotency_keys)")
                }
                # A file older than claim tokens has no such column: its rows get ''.
                token = "claim_token" if "claim_token" in columns else "''"
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if tables:
                        conn.execute(
                            f"INSERT OR IGNORE INTO idempotency_keys (doc_id, {_COLUMNS}, version)"
                            f" SELECT doc_id, {_COLUMNS.replace('claim_token', token)}, version"
                            " FROM legacy.idempotency_keys"
                        )
                    conn.execute("INSERT INTO absorbed (name) VALUES (?)", (legacy.name,))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            finally:
                conn.execute("DETACH DATABASE legacy")

    def stats(self) -> dict[str, float]:
        """Write transactions and statements committed so far."""
        return self._writes.stats()

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            with self._connections.read() as conn:
                return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            # A statement that fails is rolled back whole: it did not apply.
            raise BackendUnavailable(
                f"idempotency store failed: {exc}", retry_after=1, may_have_applied=False
            ) from exc

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        """The row count of one write statement, committed with its batch."""
        return self._writes.submit((sql, params))

    def _write_batch(
        self, statements: list[tuple[str, tuple[Any, ...]]], timeout: float
    ) -> list[int | BaseException]:
        """One transaction for the batch; each statement's row count, in order. If any
        statement fails, the transaction is rolled back and every writer of it fails."""
        try:
            with deadline_scope(timeout, nested=False), self._connections.write() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    counts = [conn.execute(sql, params).rowcount for sql, params in statements]
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            failures: list[int | BaseException] = []
            for _ in statements:
                failure = BackendUnavailable(
                    f"idempotency store failed: {exc}", retry_after=1, may_have_applied=False
                )
                failure.__cause__ = exc
                failures.append(failure)
            return failures
        return list(counts)

    @staticmethod
    def _row(record: IdempotencyRecord) -> tuple[Any, ...]:
        return (
            record.target,
            record.key,
            record.status,
            record.payload_hash,
            record.lease_expires_at.timestamp(),
            record.expire_at.timestamp(),
            record.response_status,
            record.response_body,
            record.response_content_type,
            record.claim_token,
        )

    _CREATE = (
        f"INSERT OR IGNORE INTO idempotency_keys (doc_id, {_COLUMNS}, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )

    def create(self, record: IdempotencyRecord) -> Version | None:
        version = _new_version()
        count = self._write(self._CREATE, (record.doc_id, *self._row(record), version))
        return version if count == 1 else None

    def create_all(self, records: list[IdempotencyRecord]) -> list[Version | None]:
        """Every create in one transaction of this thread's own (the local queue's worker
        claims a batch's processor runs at once: shared/processing/_run_claims.py)."""
        versions = [_new_version() for _ in records]
        statements = [
            (self._CREATE, (record.doc_id, *self._row(record), version))
            for record, version in zip(records, versions, strict=True)
        ]
        return self._versions_written(statements, versions)

    def get(self, doc_id: str) -> tuple[IdempotencyRecord, Version] | None:
        rows = self._read(
            f"SELECT {_COLUMNS}, version FROM idempotency_keys WHERE doc_id = ?", (doc_id,)
        )
        if not rows:
            return None
        return _record(rows[0]), rows[0][10]

    def get_with(self, conn: sqlite3.Connection, doc_id: str) -> IdempotencyRecord | None:
        """The record as the transaction open on `conn` sees it (shared/backends/_intake.py)."""
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM idempotency_keys WHERE doc_id = ?", (doc_id,)
        ).fetchone()
        return None if row is None else _record(row)

    def create_with(self, conn: sqlite3.Connection, record: IdempotencyRecord) -> bool:
        """Write `record` inside the transaction open on `conn` unless its key has one;
        whether it was written."""
        params = (record.doc_id, *self._row(record), _new_version())
        return conn.execute(self._CREATE, params).rowcount == 1

    def put_with(self, conn: sqlite3.Connection, record: IdempotencyRecord) -> None:
        """Write `record` over whatever the transaction open on `conn` found for its key."""
        conn.execute(
            f"INSERT OR REPLACE INTO idempotency_keys (doc_id, {_COLUMNS}, version) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (record.doc_id, *self._row(record), _new_version()),
        )

    def recent(self, limit: int = 200) -> list[IdempotencyRecord] | None:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM idempotency_keys ORDER BY lease_expires_at DESC LIMIT ?",
            (limit,),
        )
        return [_record(row) for row in rows]

    _REPLACE = (
        "UPDATE idempotency_keys SET target = ?, key = ?, status = ?, payload_hash = ?, "
        "lease_expires_at = ?, expire_at = ?, response_status = ?, response_body = ?, "
        "response_content_type = ?, claim_token = ?, version = ? "
        "WHERE doc_id = ? AND version = ?"
    )

    def replace(self, record: IdempotencyRecord, expected: Version) -> Version | None:
        assert isinstance(expected, int)
        version = _new_version()
        count = self._write(self._REPLACE, (*self._row(record), version, record.doc_id, expected))
        return version if count == 1 else None

    def replace_all(self, items: list[tuple[IdempotencyRecord, Version]]) -> list[Version | None]:
        """Every replace in one transaction of this thread's own (a batch already: no
        other caller's writes to wait for)."""
        versions = [_new_version() for _ in items]
        statements = [
            (self._REPLACE, (*self._row(record), version, record.doc_id, expected))
            for (record, expected), version in zip(items, versions, strict=True)
        ]
        return self._versions_written(statements, versions)

    def _versions_written(
        self, statements: list[tuple[str, tuple[Any, ...]]], versions: Sequence[Version]
    ) -> list[Version | None]:
        """Run `statements` in one transaction: each one's new version where it wrote its
        row, None where its condition did not hold."""
        found: list[Version | None] = []
        for count, version in zip(
            self._write_batch(statements, remaining()), versions, strict=True
        ):
            if isinstance(count, BaseException):
                raise count  # the transaction failed: none of them was written
            found.append(version if count == 1 else None)
        return found

    def delete(self, doc_id: str, expected: Version) -> bool:
        count = self._write(
            "DELETE FROM idempotency_keys WHERE doc_id = ? AND version = ?", (doc_id, expected)
        )
        return count == 1

    def close(self) -> None:
        self._connections.close()
