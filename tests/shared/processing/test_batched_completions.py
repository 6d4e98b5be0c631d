"""The local queue worker completes a batch's processor claims in one write of the embedded
store, before it deletes the messages; a message that fails has its successful runs
completed before its failure is recorded, so its retry skips them and runs only the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import BackendUnavailable, Delivery, ProcessorRegistry, Runtime, reload_settings
from shared.backends.handoff._local import LocalQueue
from shared.backends.handoff._local_worker import LocalWorker
from shared.backends.idempotency import document_id
from shared.backends.idempotency._sqlite import SqliteStore
from shared.processing._completions import deferring
from tests.support.helpers import publish_push

TOPIC = "deliveries"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Runtime, LocalQueue, SqliteStore, dict[str, Any]]]:
    state: dict[str, Any] = {"runs": [], "partner_down": True, "replace_all": [], "replace": 0}
    registry = ProcessorRegistry()

    @registry.register(name="store")
    def store(delivery: Delivery, runtime: Runtime) -> None:
        state["runs"].append(("store", delivery.delivery_id))

    @registry.register(name="partner")
    def partner(delivery: Delivery, runtime: Runtime) -> None:
        state["runs"].append(("partner", delivery.delivery_id))
        if state["partner_down"] and delivery.delivery_id == "d2":
            raise ConnectionError("partner is down")

    sqlite = SqliteStore(tmp_path / "state.sqlite3")
    real_replace_all, real_replace = sqlite.replace_all, sqlite.replace

    def replace_all(items: list[Any]) -> list[Any]:
        state["replace_all"].append(len(items))
        return real_replace_all(items)

    def replace(record: Any, expected: Any) -> Any:
        state["replace"] += 1
        return real_replace(record, expected)

    sqlite.replace_all = replace_all  # type: ignore[method-assign]
    sqlite.replace = replace  # type: ignore[method-assign]
    queue = LocalQueue(tmp_path / "queue.sqlite3", clock=_Clock())
    runtime = Runtime(reload_settings(), processors=registry, publisher=queue, store=sqlite)
    yield runtime, queue, sqlite, state
    runtime.stop()


def _status(store: SqliteStore, delivery_id: str, processor: str) -> str | None:
    key = f"github_webhook:{delivery_id}:{processor}"
    found = store.get(document_id("process_delivery", key))
    return None if found is None else found[0].status


def test_a_batch_completes_its_claims_in_one_write_and_a_retry_runs_only_the_failed(
    setup: tuple[Runtime, LocalQueue, SqliteStore, dict[str, Any]],
) -> None:
    runtime, queue, store, state = setup
    for delivery_id in ("d1", "d2", "d3"):
        publish_push(queue, TOPIC, delivery_id)
    worker = LocalWorker(queue, TOPIC, runtime.process, completions=deferring)  # driven here
    leased = queue.lease_batch(TOPIC, 16)
    assert isinstance(leased, list) and len(leased) == 3
    worker._run_batch(leased)

    # The runs before d2's failure (d1's two, d2's `store`) were completed in one write
    # before that failure was recorded; d3's two with the end of the batch. None one by one.
    assert state["replace_all"] == [3, 2] and state["replace"] == 0
    for delivery_id in ("d1", "d2", "d3"):
        assert _status(store, delivery_id, "store") == "completed"
    assert _status(store, "d2", "partner") is None  # released for the retry
    assert queue.counts() == {"pending": 1}  # d2 waits for its retry; d1 and d3 deleted

    state["partner_down"] = False
    state["runs"].clear()
    queue.clock.now += 60  # type: ignore[attr-defined]  # past the retry's backoff
    retry = queue.lease_batch(TOPIC, 16)
    assert isinstance(retry, list) and len(retry) == 1
    worker._run_batch(retry)
    assert state["runs"] == [("partner", "d2")]  # `store` replayed, not run again
    assert _status(store, "d2", "partner") == "completed"
    assert queue.counts() == {}


def test_a_failed_batch_completion_is_retried_run_by_run_and_lands(
    setup: tuple[Runtime, LocalQueue, SqliteStore, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime, queue, store, state = setup
    state["partner_down"] = False
    publish_push(queue, TOPIC, "d1")

    def down(items: list[Any]) -> list[Any]:
        raise BackendUnavailable("store is down", retry_after=1)

    store.replace_all = down  # type: ignore[method-assign]
    worker = LocalWorker(queue, TOPIC, runtime.process, completions=deferring)
    leased = queue.lease_batch(TOPIC, 16)
    assert isinstance(leased, list)
    worker._run_batch(leased)
    assert queue.counts() == {}
    assert _status(store, "d1", "store") == "completed"
    assert _status(store, "d1", "partner") == "completed"
    assert "could not record a batch's completed processor runs; retrying each" in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_completions_the_store_never_takes_are_logged_at_error_and_the_worker_stays_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The processors ran: their messages go; the claims end with their (short) lease."""
    monkeypatch.setenv("RUNRUN_LEASE_SECONDS", "1")  # how long the completions are retried
    registry = ProcessorRegistry()
    runs: list[str] = []
    registry.register(name="store")(lambda delivery, runtime: runs.append(delivery.delivery_id))
    sqlite = SqliteStore(tmp_path / "state.sqlite3")
    queue = LocalQueue(tmp_path / "queue.sqlite3")
    runtime = Runtime(reload_settings(), processors=registry, publisher=queue, store=sqlite)
    attempts: list[int] = []

    def down(*args: Any) -> Any:
        attempts.append(1)
        raise BackendUnavailable("store is down", retry_after=1)

    publish_push(queue, TOPIC, "d1")
    sqlite.replace_all = down  # type: ignore[method-assign]
    sqlite.replace = down  # type: ignore[method-assign]
    try:
        worker = LocalWorker(queue, TOPIC, runtime.process, completions=deferring)
        leased = queue.lease_batch(TOPIC, 16)
        assert isinstance(leased, list)
        worker._run_batch(leased)
    finally:
        runtime.stop()
    assert runs == ["d1"] and queue.counts() == {}
    assert _status(sqlite, "d1", "store") == "in_progress"
    assert len(attempts) > 2  # the batch's write, then the run's own, retried
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert [r.getMessage() for r in errors] == [
        "processor completion not recorded: the processor ran, its claim is left to its "
        "lease, and a redelivery after the lease runs it again"
    ]
    assert errors[0].processor == "store" and errors[0].delivery_id == "d1"  # type: ignore[attr-defined]
