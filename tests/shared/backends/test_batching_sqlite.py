"""The embedded store group-commits: concurrent writes share one SQLite transaction, each
statement keeps its own condition and outcome (a conflicting key fails no other write),
and a write queued past its deadline is never written.

The first batch is held by another connection holding the file's write lock (as another
process would), until the other writers have queued behind it.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from shared import BackendUnavailable, deadline_scope, reload_settings
from shared.backends.idempotency._sqlite import SqliteStore
from tests.shared.backends.test_batching_firestore import record, run_all
from tests.support.pubsub_util import wait_for


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SqliteStore:
    # A long busy timeout: the held batch waits for the test's lock, however loaded the machine.
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS", "30")
    reload_settings()
    return SqliteStore(tmp_path / "keys.sqlite3")


def hold_file(store: SqliteStore) -> sqlite3.Connection:
    blocker = sqlite3.connect(store.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    return blocker


def leader_in_background(store: SqliteStore) -> threading.Thread:
    """A create whose batch is taken and then waits for the held file."""
    before = store.stats()["batches"]
    thread = threading.Thread(target=lambda: run_all({"leader": lambda: _create(store, "l")}))
    thread.start()
    wait_for(lambda: store.stats()["batches"] > before, "the leader's batch taken")
    return thread


def _create(store: SqliteStore, key: str, **changes: Any) -> Any:
    return store.create(record(key, **changes))


def test_concurrent_writes_share_one_transaction_and_a_conflict_fails_only_its_own(
    store: SqliteStore,
) -> None:
    with deadline_scope(10):
        taken = _create(store, "taken")
        assert taken is not None
    blocker = hold_file(store)
    leader = leader_in_background(store)
    keys = [f"k{n}" for n in range(9)]
    calls: dict[str, Any] = {key: (lambda key=key: _create(store, key)) for key in keys}
    calls["taken"] = lambda: _create(store, "taken", claim_token="other")
    calls["stale"] = lambda: store.delete(record("taken").doc_id, taken + 1)
    results: dict[str, Any] = {}
    runner = threading.Thread(target=lambda: results.update(run_all(calls)))
    runner.start()
    wait_for(lambda: len(store._writes._queued) == 11, "11 queued writes")
    blocker.execute("ROLLBACK")
    runner.join(30)
    leader.join(30)
    blocker.close()

    assert results["taken"] is None and results["stale"] is False
    with deadline_scope(10):
        for key in keys:
            found = store.get(record(key).doc_id)
            assert found is not None and found[1] == results[key]
        kept = store.get(record("taken").doc_id)
    assert kept is not None and kept[0].claim_token == "t-taken"
    # the first create, the held leader, then the 11 writers in one transaction
    assert store.stats() == {"batches": 3, "items": 13, "largest": 11, "mean": 4.33}


def test_a_write_queued_past_its_deadline_is_never_written(store: SqliteStore) -> None:
    blocker = hold_file(store)
    leader = leader_in_background(store)
    with deadline_scope(0.2), pytest.raises(BackendUnavailable) as late:
        _create(store, "late")
    assert late.value.may_have_applied is False
    blocker.execute("ROLLBACK")
    leader.join(30)
    blocker.close()
    with deadline_scope(10):
        assert store.get(record("l").doc_id) is not None
        assert store.get(record("late").doc_id) is None
