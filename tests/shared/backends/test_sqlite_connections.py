"""The embedded backends share a process's few SQLite connections among all its threads:
one writer (and one durable writer) per file, and a bounded pool of readers; a forked
child opens its own instead of using its parent's."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
from pathlib import Path

import pytest

from shared import BackendUnavailable, deadline_scope, reload_settings
from shared.backends._sqlite import READERS, connections
from shared.backends.handoff import LocalQueue
from shared.backends.idempotency._sqlite import SqliteStore
from tests.shared.backends.test_batching_firestore import record


@pytest.fixture(autouse=True)
def _long_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS", "30")
    reload_settings()


def open_files(path: Path) -> int:
    """This process's open descriptors of the database file itself (one per connection)."""
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}") == str(path):
                found += 1
    return found


def test_many_threads_share_a_few_connections(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    store, queue = SqliteStore(path), LocalQueue(path)
    barrier = threading.Barrier(40)
    failures: list[BaseException] = []

    def deliver(n: int) -> None:
        try:
            barrier.wait()
            with deadline_scope(30):
                assert store.create(record(f"k{n}")) is not None
                assert store.get(record(f"k{n}").doc_id) is not None
                queue.publish("deliveries", b"x", {"n": str(n)})
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert queue.counts() == {"pending": 40}
    # The store and the queue share the file's connections: a writer, a durable writer
    # (the outbox) and the readers; a connection per thread would be 80 or more.
    assert 2 <= open_files(path) <= 2 + READERS


def test_a_read_waits_for_a_free_reader_until_its_deadline(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "keys.sqlite3")
    pool = connections(store.path)
    with contextlib.ExitStack() as held:
        for _ in range(READERS):
            held.enter_context(pool.read())
        with deadline_scope(0.2), pytest.raises(BackendUnavailable, match="busy"):
            store.get(record("k").doc_id)
    with deadline_scope(30):
        assert store.get(record("k").doc_id) is None  # the readers are back


def _write_in_child(store: SqliteStore) -> None:
    with deadline_scope(30):
        ok = store.create(record("child")) is not None and store.get(record("child").doc_id)
    os._exit(0 if ok else 1)


def test_a_forked_child_opens_its_own_connections(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "keys.sqlite3")
    with deadline_scope(30):
        assert store.create(record("parent")) is not None  # the parent's writer is open
    child = multiprocessing.get_context("fork").Process(target=_write_in_child, args=(store,))
    child.start()
    child.join()
    assert child.exitcode == 0
    with deadline_scope(30):
        assert store.get(record("child").doc_id) is not None
        assert store.create(record("parent-again")) is not None
