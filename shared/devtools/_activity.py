"""The inspector's memory: deliveries received and processor runs, recorded by an observer
of the runtime into one SQLite file under RUNRUN_STATE_DIR that every worker shares.

Write-behind: the request thread only appends the report to a buffer; a background thread
writes what gathered in one transaction every FLUSH_SECONDS (or when the inspector reads),
so recording costs a delivery a list append, not a SQLite write. The file keeps the newest
KEEP rows of each kind, and so does the buffer: under load a flush writes at most KEEP rows
of each kind, rather than every report only to delete most of them. Only what the delivery
log line carries (ids, event types, outcomes, reasons, timings, a processor's short note
such as a build id) is kept: never a body, a header, a secret or a signature. Recording
never fails a delivery: an error is logged once and the batch dropped. Reading is this
module's own interface too.
"""

from __future__ import annotations

import collections
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from shared._observe import DeliveryReport, Observer, RunReport

log = logging.getLogger("runrun.activity")

KEEP = 500
FLUSH_SECONDS = 0.5  # the page refreshes every second, and flushes before it reads anyway
_BUSY_MS = 1000  # the writer is a background thread: it may wait for another worker

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
    batch INTEGER,
    trace_id TEXT
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
    latency_ms REAL,
    note TEXT
);
"""
_DELIVERY_COLUMNS = (
    "at, target, delivery_id, event_type, outcome, reason, status, latency_ms, batch, trace_id"
)
_RUN_COLUMNS = "at, source, delivery_id, event_type, processor, outcome, error, latency_ms, note"


def _text(value: Any, limit: int = 300) -> str | None:
    return None if value is None else str(value)[:limit]


class ActivityRecorder(Observer):
    def __init__(self, path: Path, *, keep: int = KEEP, flush_seconds: float = FLUSH_SECONDS):
        self.path = path
        self.keep, self.flush_seconds = keep, flush_seconds
        self._pending: dict[str, collections.deque[tuple[Any, ...]]] = {
            table: collections.deque(maxlen=keep) for table in ("deliveries", "runs")
        }
        self._lock = threading.Lock()  # guards the buffer: held for an append only
        self._writing = threading.Lock()  # one batch written at a time
        self._has_work = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None
        self._warned = False

    # --- the observer: the request's thread -------------------------------------------

    def delivery(self, report: DeliveryReport) -> None:
        d = report.details
        row = (
            time.time(),
            report.target,
            _text(d.get("delivery_id")),
            _text(d.get("event_type")),
            str(d.get("outcome", "rejected")),
            _text(d.get("reason")),
            d.get("status"),
            d.get("latency_ms"),
            d.get("batch"),
            _text(d.get("trace_id"), 32),  # when traces are on and this one was sampled
        )
        self._add("deliveries", row)

    def run(self, report: RunReport) -> None:
        row = (
            time.time(),
            report.source,
            _text(report.delivery_id) or "",
            _text(report.event_type),
            report.processor,
            report.outcome,
            _text(report.error),
            report.latency_ms,
            _text(report.note, 200),
        )
        self._add("runs", row)

    def _add(self, table: str, row: tuple[Any, ...]) -> None:
        with self._lock:
            self._pending[table].append(row)
            if self._thread is None and not self._closing.is_set():
                self._thread = threading.Thread(
                    target=self._loop, name="runrun-activity", daemon=True
                )
                self._thread.start()
        if not self._has_work.is_set():
            self._has_work.set()

    # --- the writer ---------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._closing.is_set():
            self._has_work.wait()
            self._closing.wait(self.flush_seconds)  # let a batch gather
            self.flush()

    def flush(self) -> None:
        """Write every pending report now (the inspector calls this before it reads)."""
        with self._writing:
            with self._lock:
                deliveries = list(self._pending["deliveries"])
                runs = list(self._pending["runs"])
                for pending in self._pending.values():
                    pending.clear()
                self._has_work.clear()
            if not deliveries and not runs:
                return
            try:
                self._write(deliveries, runs)
            except Exception as exc:  # noqa: BLE001 - the inspector must never cost a delivery
                if not self._warned:
                    self._warned = True
                    log.warning("activity not recorded", extra={"error": type(exc).__name__})

    def _write(self, deliveries: list[tuple[Any, ...]], runs: list[tuple[Any, ...]]) -> None:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if deliveries:
                conn.executemany(
                    f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    deliveries,
                )
            if runs:
                conn.executemany(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", runs
                )
            for table in ("deliveries", "runs"):
                conn.execute(
                    f"DELETE FROM {table} WHERE id <= (SELECT MAX(id) FROM {table}) - ?",
                    (self.keep,),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
            if "note" not in columns:  # a state dir written before runs had notes
                conn.execute("ALTER TABLE runs ADD COLUMN note TEXT")
            columns = {row[1] for row in conn.execute("PRAGMA table_info(deliveries)")}
            if "trace_id" not in columns:  # written before deliveries had traces
                conn.execute("ALTER TABLE deliveries ADD COLUMN trace_id TEXT")
            self._conn = conn
        return self._conn

    def close(self, timeout: float = 5.0) -> None:
        self._closing.set()
        self._has_work.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self.flush()
        with self._writing:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # --- reading, for the inspector ------------------------------------------------------

    def recent_deliveries(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest deliveries first."""
        return self._read("SELECT * FROM deliveries ORDER BY id DESC LIMIT ?", (limit,))

    def recent_runs(self, limit: int = 200) -> list[dict[str, Any]]:
        """The newest processor runs first."""
        return self._read("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
        """Rows of `sql` as dicts; nothing when the file or its table does not exist yet."""
        self.flush()
        if not self.path.exists():
            return []
        conn = sqlite3.connect(self.path, timeout=2)
        try:
            cursor = conn.execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except sqlite3.OperationalError:  # no such table yet
            return []
        finally:
            conn.close()
