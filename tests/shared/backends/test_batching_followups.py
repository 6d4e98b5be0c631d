"""Followups (`Batcher.submit_then`): a second batched call made for each caller once its
first succeeded, before the caller is woken. Each caller gets both of its own outcomes;
the second call is never made for a first one that failed; a failed second batch fails
exactly its callers' second outcomes; and a followup still queued when its caller's
deadline passes is withdrawn and never sent.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from shared import BackendUnavailable, deadline_scope
from shared.backends._batching import Batcher, Followup


class Backend:
    """Two batched calls, each recording the batches it was sent; `hold` stops the first
    call's batches at a gate, `fail_first` / `fail_second` fail items or whole batches."""

    def __init__(self) -> None:
        self.first_batches: list[list[str]] = []
        self.second_batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.second_gate = threading.Event()
        self.second_gate.set()
        self.second_started = threading.Event()
        self.fail_first: set[str] = set()
        self.fail_second_batch = False
        self.first = Batcher[str, str]("first", self._first)
        self.second = Batcher[str, str]("second", self._second)

    def _first(self, items: list[str], timeout: float) -> list[str | BaseException]:
        self.gate.wait(5)
        self.first_batches.append(items)
        return [
            BackendUnavailable(f"{item} refused", retry_after=1)
            if item in self.fail_first
            else f"id-{item}"
            for item in items
        ]

    def _second(self, items: list[str], timeout: float) -> list[str]:
        self.second_started.set()
        self.second_gate.wait(5)
        self.second_batches.append(items)
        if self.fail_second_batch:
            raise OSError("second backend down")
        return [f"done-{item}" for item in items]


def run_callers(backend: Backend, names: list[str], seconds: float = 10.0) -> dict[str, Any]:
    """Each name submitted with its followup from its own thread, while the first batch is
    held at the gate until every caller has queued behind it."""
    results: dict[str, Any] = {}
    backend.gate.clear()

    def one(name: str) -> None:
        with deadline_scope(seconds):
            try:
                results[name] = backend.first.submit_then(
                    name, Followup(backend.second, f"after-{name}")
                )
            except BackendUnavailable as exc:
                results[name] = exc

    threads = [threading.Thread(target=one, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    while len(backend.first._queued) < len(names) - 1:  # the leader's batch is in flight
        threading.Event().wait(0.005)
    backend.gate.set()
    for thread in threads:
        thread.join(10)
    return results


def test_each_caller_gets_both_of_its_own_outcomes_and_the_followups_share_batches() -> None:
    backend = Backend()
    names = [f"n{i}" for i in range(20)]
    results = run_callers(backend, names)
    assert results == {name: (f"id-{name}", f"done-after-{name}") for name in names}
    sent = sorted(item for batch in backend.second_batches for item in batch)
    assert sent == sorted(f"after-{name}" for name in names)  # each exactly once
    assert len(backend.second_batches) < len(names)  # the followups were grouped


def test_a_failed_first_call_raises_and_its_followup_is_never_made() -> None:
    backend = Backend()
    backend.fail_first = {"n3", "n7"}
    names = [f"n{i}" for i in range(10)]
    results = run_callers(backend, names)
    for name in names:
        if name in backend.fail_first:
            assert isinstance(results[name], BackendUnavailable)
        else:
            assert results[name] == (f"id-{name}", f"done-after-{name}")
    sent = {item for batch in backend.second_batches for item in batch}
    assert sent == {f"after-{name}" for name in names if name not in backend.fail_first}


def test_a_failed_followup_batch_fails_only_its_callers_second_outcomes() -> None:
    backend = Backend()
    backend.fail_second_batch = True
    names = [f"n{i}" for i in range(6)]
    results = run_callers(backend, names)
    for name in names:
        first, second = results[name]
        assert first == f"id-{name}"  # the first call stands
        assert isinstance(second, BackendUnavailable)
        assert isinstance(second.__cause__, OSError)


def test_a_followup_queued_past_its_deadline_is_withdrawn_and_never_sent() -> None:
    backend = Backend()
    backend.second_gate.clear()  # the second batcher's first batch stays in flight
    blocker = threading.Thread(target=lambda: backend.second.submit("blocker"))
    with deadline_scope(10):
        blocker.start()
        assert backend.second_started.wait(5)
    with deadline_scope(0.3):
        first, second = backend.first.submit_then("late", Followup(backend.second, "after-late"))
    assert first == "id-late"
    assert isinstance(second, BackendUnavailable)
    assert second.status_code == 503
    backend.second_gate.set()
    blocker.join(5)
    with deadline_scope(5):
        assert backend.second.submit("next") == "done-next"
    sent = [item for batch in backend.second_batches for item in batch]
    assert sent == ["blocker", "next"]  # the withdrawn followup was never sent


def test_a_followup_without_a_batching_backend_runs_after_the_first_call() -> None:
    # `Followup.run` is what publishers that do not batch use: the same two outcomes.
    backend = Backend()
    with deadline_scope(5):
        assert Followup(backend.second, "x").run() == "done-x"
    backend.fail_second_batch = True
    with deadline_scope(5):
        outcome = Followup(backend.second, "y").run()
    assert isinstance(outcome, BackendUnavailable)


@pytest.mark.parametrize("callers", [1, 2, 40])
def test_followups_into_the_same_batcher_are_made_once_each(callers: int) -> None:
    # A followup may go back to the batcher it came from (two writes to one store).
    sent: list[str] = []
    lock = threading.Lock()

    def send(items: list[str], timeout: float) -> list[str]:
        with lock:
            sent.extend(items)
        return [f"ok-{item}" for item in items]

    batcher = Batcher[str, str]("one", send)
    results: dict[int, Any] = {}

    def one(n: int) -> None:
        with deadline_scope(10):
            results[n] = batcher.submit_then(f"a{n}", Followup(batcher, f"b{n}"))

    threads = [threading.Thread(target=one, args=(n,)) for n in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == {n: (f"ok-a{n}", f"ok-b{n}") for n in range(callers)}
    assert sorted(sent) == sorted(
        [f"a{n}" for n in range(callers)] + [f"b{n}" for n in range(callers)]
    )


def test_a_chain_goes_on_only_where_each_outcome_says_so() -> None:
    # create -> publish -> complete, as a receiving request chains them: a key found taken
    # (outcome None) ends the chain after the first call, with that outcome.
    backend = Backend()
    creates = Batcher[str, str | None](
        "creates",
        lambda items, timeout: [
            None if item.startswith("taken") else f"v-{item}" for item in items
        ],
    )

    def after_create(version: str | None) -> Followup | None:
        if version is None:
            return None
        return Followup(
            backend.first,
            f"msg-{version}",
            then=lambda _: Followup(backend.second, f"done-{version}"),
        )

    results: dict[str, list[Any]] = {}

    def one(name: str) -> None:
        with deadline_scope(10):
            results[name] = creates.submit_chain(name, after_create)

    names = ["a", "taken-b", "c", "taken-d"]
    threads = [threading.Thread(target=one, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["a"] == ["v-a", "id-msg-v-a", "done-done-v-a"]
    assert results["c"] == ["v-c", "id-msg-v-c", "done-done-v-c"]
    assert results["taken-b"] == [None]
    assert results["taken-d"] == [None]
    assert sorted(i for b in backend.first_batches for i in b) == ["msg-v-a", "msg-v-c"]


def test_a_followup_with_its_own_deadline_keeps_it() -> None:
    # The claim has a share of the deadline; the publish after it has the whole of it.
    seen: list[float] = []

    def send(items: list[str], timeout: float) -> list[str]:
        seen.append(timeout)
        return items

    short, long = Batcher[str, str]("short", send), Batcher[str, str]("long", send)
    with deadline_scope(5):
        end = time.monotonic() + 4.0
    with deadline_scope(0.5):
        outcomes = short.submit_chain("x", lambda _: Followup(long, "y", end=end))
    assert outcomes == ["x", "y"]
    assert seen[0] <= 0.5 < seen[1] <= 4.0  # each call carried its own deadline
