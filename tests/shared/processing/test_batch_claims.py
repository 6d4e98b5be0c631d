"""The local queue worker claims a leased batch's processor runs in one write of the embedded
store: each run takes its claim from there (none claimed one by one), a pair completed by an
earlier attempt is still skipped, a claim the batch did not use is released, and a run that
starts late in a slow batch renews its claim's lease first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from shared import Delivery, ProcessorRegistry, Runtime, reload_settings
from shared.backends.handoff._local import LocalQueue
from shared.backends.handoff._local_worker import LocalWorker
from shared.backends.idempotency import document_id
from shared.backends.idempotency._sqlite import SqliteStore
from shared.processing._completions import deferring
from tests.support.helpers import publish_push

TOPIC = "deliveries"


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Runtime, LocalQueue, SqliteStore, dict[str, Any]]]:
    state: dict[str, Any] = {"runs": [], "create_all": [], "create": 0, "during": None}
    registry = ProcessorRegistry()

    @registry.register(name="store")
    def store(delivery: Delivery, runtime: Runtime) -> None:
        state["runs"].append(("store", delivery.delivery_id))
        if state["during"] is not None:
            state["during"](delivery)

    @registry.register(name="partner")
    def partner(delivery: Delivery, runtime: Runtime) -> None:
        state["runs"].append(("partner", delivery.delivery_id))

    @registry.register(name="later", delay=3600)
    def later(delivery: Delivery, runtime: Runtime) -> None:
        state["runs"].append(("later", delivery.delivery_id))

    sqlite = SqliteStore(tmp_path / "state.sqlite3")
    real_create_all, real_create = sqlite.create_all, sqlite.create

    def create_all(records: list[Any]) -> list[Any]:
        state["create_all"].append(len(records))
        return real_create_all(records)

    def create(record: Any) -> Any:
        state["create"] += 1
        return real_create(record)

    sqlite.create_all = create_all  # type: ignore[method-assign]
    sqlite.create = create  # type: ignore[method-assign]
    queue = LocalQueue(tmp_path / "queue.sqlite3")
    runtime = Runtime(reload_settings(), processors=registry, publisher=queue, store=sqlite)
    yield runtime, queue, sqlite, state
    runtime.stop()


def _record(store: SqliteStore, delivery_id: str, processor: str) -> Any:
    key = f"github_webhook:{delivery_id}:{processor}"
    found = store.get(document_id("process_delivery", key))
    return None if found is None else found[0]


def _run(runtime: Runtime, queue: LocalQueue, *, stopping: bool = False) -> None:
    worker = LocalWorker(
        queue, TOPIC, runtime.process, claims=runtime.claiming, completions=deferring
    )
    if stopping:
        worker.stopping.set()
    leased = queue.lease_batch(TOPIC, 16)
    assert isinstance(leased, list)
    worker._run_batch(leased)


def test_a_batch_claims_its_runs_in_one_write_and_a_redelivery_still_skips_them(
    setup: tuple[Runtime, LocalQueue, SqliteStore, dict[str, Any]],
) -> None:
    runtime, queue, store, state = setup
    for delivery_id in ("d1", "d2", "d3"):
        publish_push(queue, TOPIC, delivery_id)
    _run(runtime, queue)
    # Two processors run now on each of three deliveries: six claims in one write, none
    # one by one; the delayed processor is scheduled instead (no claim of it).
    assert state["create_all"] == [6] and state["create"] == 0
    assert sorted(state["runs"]) == sorted(
        (name, d) for name in ("store", "partner") for d in ("d1", "d2", "d3")
    )
    for delivery_id in ("d1", "d2", "d3"):
        for name in ("store", "partner"):
            assert _record(store, delivery_id, name).status == "completed"
        assert _record(store, delivery_id, "later") is None
    assert queue.counts() == {"pending": 3}  # the delayed processor's scheduled runs

    # The same message again (a redelivery): the batch claims nothing, nothing runs twice.
    state["runs"].clear()
    state["create_all"].clear()
    publish_push(queue, TOPIC, "d1")
    _run(runtime, queue)
    assert state["create_all"] == [2]
    assert state["runs"] == []


def test_claims_a_stopping_worker_did_not_use_are_released(
    setup: tuple[Runtime, LocalQueue, SqliteStore, dict[str, Any]],
) -> None:
    runtime, queue, store, state = setup
    for delivery_id in ("d1", "d2"):
        publish_push(queue, TOPIC, delivery_id)
    _run(runtime, queue, stopping=True)
    assert state["create_all"] == [4] and state["runs"] == []
    for delivery_id in ("d1", "d2"):
        for name in ("store", "partner"):
            assert _record(store, delivery_id, name) is None  # free for the next worker
    assert queue.counts() == {"pending": 2}  # given back, not run
    _run(runtime, queue)
    assert len(state["runs"]) == 4


def test_a_run_late_in_its_batch_renews_its_claim_first(
    setup: tuple[Runtime, LocalQueue, SqliteStore, dict[str, Any]],
) -> None:
    runtime, queue, store, state = setup
    machine = runtime.idempotency
    now = {"t": datetime(2030, 1, 1, tzinfo=UTC)}
    machine.clock = lambda: now["t"]  # type: ignore[method-assign]
    seen: dict[str, Any] = {}

    def slow(delivery: Delivery) -> None:
        seen[delivery.delivery_id] = _record(store, delivery.delivery_id, "store")
        if delivery.delivery_id == "d1":  # d1's run takes most of the lease
            now["t"] += machine.lease * 0.75

    state["during"] = slow
    for delivery_id in ("d1", "d2"):
        publish_push(queue, TOPIC, delivery_id)
    _run(runtime, queue)
    start = datetime(2030, 1, 1, tzinfo=UTC)
    assert seen["d1"].lease_expires_at == start + machine.lease  # claimed with the batch
    # d2's claim was made with the batch too, but renewed before its run: a full lease.
    assert seen["d2"].lease_expires_at == start + machine.lease * 1.75
    assert _record(store, "d2", "store").status == "completed"
    assert _record(store, "d2", "partner").status == "completed"


def test_a_batch_claim_that_fails_leaves_each_run_to_claim_its_own(
    setup: tuple[Runtime, LocalQueue, SqliteStore, dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    runtime, queue, store, state = setup

    def broken(records: list[Any]) -> list[Any]:
        raise RuntimeError("disk on fire")

    store.create_all = broken  # type: ignore[method-assign]
    for delivery_id in ("d1", "d2"):
        publish_push(queue, TOPIC, delivery_id)
    _run(runtime, queue)
    assert "could not claim a batch's processor runs" in caplog.text
    assert state["create"] == 4 and len(state["runs"]) == 4  # claimed one by one, all ran
    for delivery_id in ("d1", "d2"):
        for name in ("store", "partner"):
            assert _record(store, delivery_id, name).status == "completed"
