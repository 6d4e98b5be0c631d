"""Recent activity for the inspector page (`/_runrun/inspect`): deliveries received and
processor runs, in one SQLite file under RUNRUN_STATE_DIR that every worker process shares.

Only what the delivery log line carries (ids, event types, outcomes, reasons, timings):
never a body, a header, a secret or a signature. Recording never fails a delivery: an error
is logged once and the record dropped. The file stays small (the newest KEEP rows of each
kind). Nothing is recorded unless the inspector is enabled, so production stays lean:

    RUNRUN_INSPECT unset   on locally, off on Cloud Run (K_SERVICE set)
    RUNRUN_INSPECT=0       off everywhere
    RUNRUN_INSPECT=1       on; on Cloud Run only together with RUNRUN_INSPECT_TOKEN
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ._config import get_settings

log = logging.getLogger("runrun.activity")

KEEP = 500
_PRUNE_EVERY = 50
_BUSY_MS = 250  # a busy file costs a record, never a delivery's latency budget

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    target TEXT NOT NULL,
    delivery_id TEXT,
    event_type TEXT,
    outcome TEXT NOT NULL,
    reason TEXT,
    status INTEGER,
    latency_ms REAL,
    batch INTEGER
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    source TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    event_type TEXT,
    processor TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    latency_ms REAL
);
"""
_OFF = ("0", "false", "off", "no")
_ON = ("1", "true", "on", "yes")


def inspector_token() -> str | None:
    """RUNRUN_INSPECT_TOKEN, or None when unset."""
    return os.environ.get("RUNRUN_INSPECT_TOKEN", "").strip() or None


def inspector_enabled() -> bool:
    """Whether the inspector (and so the recording behind it) is on in this process."""
    raw = os.environ.get("RUNRUN_INSPECT", "").strip().lower()
    on_cloud_run = bool(os.environ.get("K_SERVICE"))
    if raw in _OFF:
        return False
    if raw in _ON:
        # Never open on a public URL without a token, whatever else was set.
        return inspector_token() is not None or not on_cloud_run
    return not on_cloud_run


class _PerThread(threading.local):
    conn: sqlite3.Connection | None = None
    key: tuple[int, str] = (0, "")
    inserts: int = 0


_local = _PerThread()
_warned = threading.Event()


def activity_path() -> Path:
    return get_settings().state_dir / "activity.sqlite3"


def _conn() -> sqlite3.Connection:
    path = activity_path()
    key = (os.getpid(), str(path))
    if _local.conn is None or _local.key != key:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.executescript(_SCHEMA)
        _local.conn, _local.key, _local.inserts = conn, key, 0
    return _local.conn


def _insert(table: str, row: dict[str, Any]) -> None:
    try:
        conn = _conn()
        names = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(row.values()))
        _local.inserts += 1
        if _local.inserts % _PRUNE_EVERY == 0:
            conn.execute(
                f"DELETE FROM {table} WHERE id <= (SELECT MAX(id) FROM {table}) - ?", (KEEP,)
            )
    except Exception as exc:  # noqa: BLE001 - the inspector must never cost a delivery
        if not _warned.is_set():
            _warned.set()
            log.warning("activity not recorded", extra={"error": type(exc).__name__})


def _text(value: Any, limit: int = 300) -> str | None:
    return None if value is None else str(value)[:limit]


def record_delivery(target: str, details: dict[str, Any]) -> None:
    """One delivery as the receive pipeline logged it (outcome, reason, status, latency)."""
    if not inspector_enabled():
        return
    _insert(
        "deliveries",
        {
            "at": time.time(),
            "target": target,
            "delivery_id": _text(details.get("delivery_id")),
            "event_type": _text(details.get("event_type")),
            "outcome": str(details.get("outcome", "rejected")),
            "reason": _text(details.get("reason")),
            "status": details.get("status"),
            "latency_ms": details.get("latency_ms"),
            "batch": details.get("batch"),
        },
    )


def record_run(
    source: str,
    delivery_id: str,
    event_type: str,
    processor: str,
    outcome: str,
    error: str | None = None,
    latency_ms: float | None = None,
) -> None:
    """One processor run: `ran`, `failed` (with the exception's type) or `skipped`."""
    if not inspector_enabled():
        return
    _insert(
        "runs",
        {
            "at": time.time(),
            "source": source,
            "delivery_id": _text(delivery_id),
            "event_type": _text(event_type),
            "processor": processor,
            "outcome": outcome,
            "error": _text(error),
            "latency_ms": latency_ms,
        },
    )


# --- reading, for the inspector ---------------------------------------------------------


def _read(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """Rows of `sql` as dicts; nothing when the file or its table does not exist yet."""
    if not path.exists():
        return []
    conn = sqlite3.connect(path, timeout=2)
    try:
        cursor = conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except sqlite3.OperationalError:  # no such table yet
        return []
    finally:
        conn.close()


def recent_deliveries(limit: int = 200) -> list[dict[str, Any]]:
    """The newest deliveries first."""
    sql = "SELECT * FROM deliveries ORDER BY id DESC LIMIT ?"
    return _read(activity_path(), sql, (limit,))


def recent_runs(limit: int = 200) -> list[dict[str, Any]]:
    """The newest processor runs first."""
    return _read(activity_path(), "SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))


def idempotency_records(limit: int = 200) -> list[dict[str, Any]]:
    """The embedded store's records, the latest leases first (no response bodies)."""
    sql = (
        "SELECT target, key, status, lease_expires_at, expire_at, response_status "
        "FROM idempotency_keys ORDER BY lease_expires_at DESC LIMIT ?"
    )
    return _read(get_settings().state_dir / "idempotency.sqlite3", sql, (limit,))


def queue_messages(limit: int = 200) -> list[dict[str, Any]]:
    """The embedded queue's messages (never their data), with a readable state."""
    sql = (
        "SELECT message_id, topic, attributes, published_at, status, attempts, "
        "next_attempt_at, leased_until, last_error FROM outbox ORDER BY id DESC LIMIT ?"
    )
    now = time.time()
    rows = _read(get_settings().state_dir / "queue.sqlite3", sql, (limit,))
    for row in rows:
        attributes = json.loads(row.pop("attributes") or "{}")
        row["source"] = attributes.get("source", "")
        row["delivery_id"] = attributes.get("delivery_id", "")
        row["event_type"] = attributes.get("event_type", "")
        if row["status"] == "dead":
            row["state"] = "dead-lettered"
        elif row["leased_until"] > now:
            row["state"] = "running"
        elif row["attempts"]:
            row["state"] = "retrying"
        else:
            row["state"] = "pending"
    return rows
