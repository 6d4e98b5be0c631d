"""SQLite plumbing shared by the embedded backends (idempotency store, local queue,
document collection): connections, and writers that wait their turn without polling."""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared._deadline import remaining
from shared._errors import BackendUnavailable

PAGE_CACHE_KIB = 64  # per connection (SQLite's default: 2,000 KiB)
# Reading connections per file and process. Reads are few on the delivery path (the writes
# carry their own reads in their transaction), and a read takes microseconds to a few ms.
READERS = 4
# How long a connection waits for a lock that `writing` does not queue (a reader, or a
# writer of another tool): the default request deadline.
BUSY_TIMEOUT_MS = 2000


def connect(path: Path, *, durable: bool = False) -> sqlite3.Connection:
    """An autocommit connection tuned for many short writes from several processes.

    In WAL mode every commit survives a crash of the process. `durable` adds an fsync per
    commit so that it survives a power cut as well: the outbox needs that (a delivery
    answered 2xx must not vanish), idempotency records do not (a lost record costs at most
    a duplicate publish, which the processing side deduplicates), and an fsync per write
    would cap the whole embedded path at a few hundred deliveries per second.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    _use_wal(conn)
    # A connection's page cache grows to SQLite's default 2 MiB. Those pages buy nothing
    # here: in WAL mode any commit by another connection empties a reader's cache at its
    # next transaction, and the file itself stays in the OS page cache.
    conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    # Writers are queued by `writing` below; this only bounds a wait for a reader or a
    # writer that does not use it.
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _use_wal(conn: sqlite3.Connection, attempts: int = 50) -> None:
    # Switching a file to WAL takes an exclusive lock, and SQLite answers "database is
    # locked" at once, without its busy handler, while another connection creates the file
    # or recovers its WAL. Once the file is in WAL mode (every later connection) the switch
    # is not needed at all.
    for attempt in range(attempts):
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))


@dataclass
class _WriteLock:
    threads: threading.Lock
    fd: int


_locks: dict[tuple[int, Path], _WriteLock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: Path) -> _WriteLock:
    # Keyed by pid: a lock held at a fork must not pass to the child.
    key = (os.getpid(), path)
    lock = _locks.get(key)
    if lock is None:
        with _locks_guard:
            lock = _locks.get(key)
            if lock is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(f"{path}.writelock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                lock = _locks[key] = _WriteLock(threading.Lock(), fd)
    return lock


@contextlib.contextmanager
def writing(path: Path, *, within_deadline: bool = True) -> Iterator[None]:
    """Be the only writer of `path` for the block.

    SQLite's busy handler waits by sleeping and polling (1, 2, 5 ... 100 ms), so with dozens
    of threads in several worker processes writing one file, some writers keep losing until
    their deadline runs out. Instead this process's writers queue on a lock, and the
    processes take turns on an flock, which the kernel hands over the moment it is free.

    Raises:
        BackendUnavailable: the request's deadline passed while waiting (503).
    """
    lock = _lock_for(path)
    if not lock.threads.acquire(timeout=remaining() if within_deadline else -1):
        raise BackendUnavailable(f"{path.name} is busy", retry_after=1, may_have_applied=False)
    try:
        fcntl.flock(lock.fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fd, fcntl.LOCK_UN)
    finally:
        lock.threads.release()


class Connections:
    """One process's connections to one SQLite file, shared by all its threads: a writer
    (and a durable writer), used only under `writing`, and a few readers, lent out one
    caller at a time.

    One connection per request thread instead would mean 160 or more per worker at 80
    threads, each with its own statement cache, schema copy and WAL index buffers in the
    thread's malloc arena (about 150 KiB apiece), where one writer serves the whole process:
    `writing` lets only one of its threads write at a time anyway.
    """

    def __init__(self, path: Path, readers: int = READERS) -> None:
        self.path = path
        self._readers = readers
        self._guard = threading.Lock()
        self._pid = 0
        self._fresh()

    def _fresh(self) -> None:
        """New, empty pools: connections must not cross a fork, so a child starts its own
        (the parent's are left alone, never used)."""
        self._pid = os.getpid()
        self._writers: dict[bool, sqlite3.Connection] = {}
        # Last in, first out: the connections opened so far are lent again before another
        # is opened (a None is a connection not opened yet), so quiet processes keep one.
        self._idle: queue.LifoQueue[sqlite3.Connection | None] = queue.LifoQueue()
        for _ in range(self._readers):
            self._idle.put(None)

    def _check_pid(self) -> None:
        if self._pid != os.getpid():
            with self._guard:
                if self._pid != os.getpid():
                    self._fresh()

    @contextlib.contextmanager
    def write(
        self, *, durable: bool = False, within_deadline: bool = True
    ) -> Iterator[sqlite3.Connection]:
        """This process's writer, for the block, as the only writer of the file (`writing`).
        `durable`: the writer that fsyncs each commit (see `connect`).

        Raises:
            BackendUnavailable: the request's deadline passed while waiting (503).
        """
        self._check_pid()
        with writing(self.path, within_deadline=within_deadline):
            conn = self._writers.get(durable)
            if conn is None:
                conn = self._writers[durable] = connect(self.path, durable=durable)
            try:
                yield conn
            finally:
                if conn.in_transaction:  # never hand on a transaction left open
                    conn.execute("ROLLBACK")

    @contextlib.contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection of this process's own for the block, to read with (fetch the rows
        inside the block: an unfinished statement would keep its snapshot open).

        Raises:
            BackendUnavailable: every reader stayed busy until the deadline (503).
        """
        self._check_pid()
        idle = self._idle
        try:
            conn = idle.get(timeout=remaining())
        except queue.Empty:
            raise BackendUnavailable(
                f"{self.path.name} is busy", retry_after=1, may_have_applied=False
            ) from None
        try:
            if conn is None:
                conn = connect(self.path)
            yield conn
        finally:
            if conn is not None and conn.in_transaction:
                conn.execute("ROLLBACK")
            idle.put(conn)

    def close(self) -> None:
        """Close the connections not in use (one in use is closed by the collector, and the
        next user opens new ones)."""
        if self._pid != os.getpid():
            return
        closing: list[sqlite3.Connection] = []
        with writing(self.path, within_deadline=False), self._guard:
            closing.extend(self._writers.values())
            while True:
                try:
                    conn = self._idle.get_nowait()
                except queue.Empty:
                    break
                if conn is not None:
                    closing.append(conn)
            self._fresh()
        for conn in closing:
            conn.close()


_by_path: weakref.WeakValueDictionary[Path, Connections] = weakref.WeakValueDictionary()
_by_path_guard = threading.Lock()


def connections(path: Path) -> Connections:
    """The connections to `path`, shared by every user of the file in this process (the
    idempotency store and the local queue share one file) for as long as one holds them."""
    with _by_path_guard:
        found = _by_path.get(path)
        if found is None:
            found = _by_path[path] = Connections(path)
        return found
