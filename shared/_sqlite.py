"""SQLite plumbing shared by the embedded backends (idempotency store, local queue,
document collection): connections, and writers that wait their turn without polling."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ._config import get_settings
from ._deadline import remaining
from ._errors import BackendUnavailable

PAGE_CACHE_KIB = 64  # per connection (SQLite's default: 2,000 KiB)


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
    # Each request thread keeps its own connections, and each connection's page cache grows
    # to SQLite's default 2 MiB: 80 threads x 2 stores is 320 MiB per worker after a while.
    # Those pages buy nothing here: in WAL mode any commit by another connection empties a
    # reader's cache at its next transaction, and the file itself stays in the OS page cache.
    conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
    conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    # Writers are queued by `writing` below; this only bounds a wait for a reader or a
    # writer that does not use it.
    conn.execute(f"PRAGMA busy_timeout={int(get_settings().deadline_seconds * 1000)}")
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
