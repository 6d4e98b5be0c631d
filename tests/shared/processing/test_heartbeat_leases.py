"""Heartbeat leases on a runtime of the test's own, over every store (memory, SQLite, and
Firestore on its real emulator): a processor that runs for many leases is never taken over,
a claim lost while it runs is said so, a completion that fails is retried inside the lease
and lands, and with the store down throughout the log says so at ERROR (the local queue's
message leases: `test_queue_leases.py`).

Nothing here waits on the wall clock: the tests wait for renewals to have happened (a
condition the heartbeat notifies), a lease of 1 s making them frequent.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from shared import (
    BackendUnavailable,
    ClaimInProgress,
    Delivery,
    MemoryPublisher,
    ProcessorRegistry,
    Runtime,
    reload_settings,
)
from shared.backends.idempotency import IdempotencyStore, document_id
from tests.support.helpers import idempotency_store

STORES = [
    pytest.param("memory", id="memory"),
    pytest.param("sqlite", id="sqlite"),
    pytest.param("firestore", id="firestore", marks=pytest.mark.emulators),
]
SAFETY = 60.0  # a safety net against a hang, never a timing


def _event(delivery_id: str) -> dict[str, Any]:
    import base64

    delivery = Delivery("github_webhook", delivery_id, "push", "application/json", "", b"{}")
    data = base64.b64encode(delivery.data).decode()
    return {"message": {"data": data, "attributes": delivery.attributes(), "messageId": "1"}}


class Counter:
    """How many times something happened, and a wait for a count."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def add(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.count >= count, SAFETY), self.count


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IdempotencyStore]:
    built: IdempotencyStore = idempotency_store(request.param, request, tmp_path)
    yield built
    built.close()


def _runtime(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch, processor: Callable[[], None]
) -> Runtime:
    monkeypatch.setenv("RUNRUN_LEASE_SECONDS", "1")  # renewals every third of a second
    registry = ProcessorRegistry()
    registry.register(name="slow")(lambda delivery, context: processor())
    return Runtime(reload_settings(), processors=registry, publisher=MemoryPublisher(), store=store)


def _count_renewals(runtime: Runtime) -> Counter:
    renewals = Counter()
    machine = runtime.idempotency
    real = machine.renew

    def renew(claim: Any) -> Any:
        renewed = real(claim)
        renewals.add()
        return renewed

    machine.renew = renew  # type: ignore[method-assign]
    return renewals


def _status(runtime: Runtime, delivery_id: str) -> str | None:
    key = f"github_webhook:{delivery_id}:slow"
    found = runtime.idempotency.store.get(document_id("process_delivery", key))
    return None if found is None else found[0].status


@pytest.mark.parametrize("store", STORES, indirect=True)
def test_a_run_that_lasts_many_leases_is_never_taken_over(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    go_on, runs = threading.Event(), Counter()

    def slow() -> None:
        runs.add()
        assert go_on.wait(SAFETY)

    runtime = _runtime(store, monkeypatch, slow)
    renewals = _count_renewals(runtime)
    first = threading.Thread(target=runtime.process, args=(_event("long-1"),))
    try:
        first.start()
        runs.wait_for(1)
        for seen in range(3, 12, 3):  # 3 renewals = at least one whole lease gone by
            renewals.wait_for(seen)
            with pytest.raises(ClaimInProgress):
                runtime.process(_event("long-1"))  # a redelivery while it runs
        go_on.set()
        first.join(SAFETY)
        assert _status(runtime, "long-1") == "completed"
        runtime.process(_event("long-1"))  # and after: skipped
        assert runs.count == 1
    finally:
        go_on.set()
        runtime.stop()


@pytest.mark.parametrize("store", STORES, indirect=True)
def test_a_claim_lost_while_its_run_goes_on_is_logged_and_no_longer_renewed(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    go_on = threading.Event()

    def slow() -> None:
        assert go_on.wait(SAFETY)

    runtime = _runtime(store, monkeypatch, slow)
    renewals = _count_renewals(runtime)
    first = threading.Thread(target=runtime.process, args=(_event("lost-1"),))
    try:
        first.start()
        renewals.wait_for(1)
        # Another attempt's record replaces this run's (as a takeover after a lapsed
        # lease would): the next renewal is refused, and the run is told.
        doc = document_id("process_delivery", "github_webhook:lost-1:slow")
        while True:  # a renewal may land between the read and the write: read again
            found = store.get(doc)
            assert found is not None
            if store.replace(replace(found[0], claim_token="another-run"), found[1]):
                break
        with caplog.at_level(logging.WARNING, logger="runrun.process"):
            renewals.wait_for(renewals.count + 1)
            go_on.set()
            first.join(SAFETY)
    finally:
        go_on.set()
        runtime.stop()
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "processor claim lost: the run goes on, and another run may repeat it" in messages
    assert (
        "processor completion not recorded: its claim was taken over while it ran, and "
        "the other run may repeat it" in messages
    )
    assert _status(runtime, "lost-1") == "in_progress"  # the other attempt's, untouched


class _FailingCompletions:
    """The store's completions fail `times` times (as a timed-out write would), then work."""

    def __init__(self, store: IdempotencyStore, times: int) -> None:
        self.times, self.attempts = times, 0
        self._replace = store.replace
        store.replace = self.replace  # type: ignore[method-assign]

    def replace(self, record: Any, expected: Any) -> Any:
        if record.status == "completed":
            self.attempts += 1
            if self.attempts <= self.times:
                raise BackendUnavailable("completion failed on purpose", retry_after=1)
        return self._replace(record, expected)


@pytest.mark.parametrize("store", STORES, indirect=True)
def test_a_failed_completion_is_retried_and_lands(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    runs = Counter()
    runtime = _runtime(store, monkeypatch, runs.add)
    failing = _FailingCompletions(store, times=3)
    try:
        runtime.process(_event("retry-1"))
        assert failing.attempts == 4
        assert _status(runtime, "retry-1") == "completed"
        runtime.process(_event("retry-1"))  # the redelivery finds it done
        assert runs.count == 1
    finally:
        runtime.stop()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("store", STORES, indirect=True)
def test_with_the_store_down_throughout_the_completion_is_logged_at_error(
    store: IdempotencyStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    runs = Counter()
    runtime = _runtime(store, monkeypatch, runs.add)
    failing = _FailingCompletions(store, times=10**6)
    try:
        runtime.process(_event("down-1"))  # the processor ran: the message is acknowledged
    finally:
        runtime.stop()
    assert runs.count == 1 and failing.attempts > 2
    assert _status(runtime, "down-1") == "in_progress"  # left to its lease
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "processor completion not recorded: the processor ran, its claim is left to its "
        "lease, and a redelivery after the lease runs it again"
    ]
    line: Any = errors[0]
    assert (line.processor, line.delivery_id) == ("slow", "down-1")
    assert line.reason == "completion failed on purpose" and line.lease_expires_at
