"""The pieces `Batcher` (_batching.py) moves its callers' items with: the signal a
waiting caller sleeps on, a caller's entry as it goes from one batcher to the next, the
followups that chain those batchers, and the counts of what was sent."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class BatcherLike(Protocol):
    """What an entry or a followup needs of the batcher it is queued on: `Batcher`, which
    is written in terms of these pieces (so they name it only through this Protocol)."""

    name: str
    _mutex: threading.Lock
    _queued: list[Entry]

    def submit(self, item: Any) -> Any: ...

    def submit_chain(self, item: Any, then: Next) -> list[Any]: ...

    def _send_batch(self, leader: Entry) -> None: ...

    def _adopt(self, entries: list[Entry], current: Entry) -> None: ...


class Signal:
    """A one-way flag like threading.Event, on one bare lock: an Event is a Condition with
    its own lock and waiter list, bookkeeping that 80 callers creating, waiting on and
    setting one each per item would pay for on every item.
    Set only by the leader of the moment, so two `set` calls never race."""

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()  # held until set
        self._set = False

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._lock.release()

    def wait(self, timeout: float = -1) -> bool:
        """True once set; False when `timeout` seconds (-1: no limit) passed first."""
        if self._set:
            return True
        if self._lock.acquire(timeout=min(timeout, threading.TIMEOUT_MAX)):
            self._lock.release()  # stays set for any later wait
            return True
        return self._set


@dataclass(frozen=True)
class Followup:
    """A call to make with `batcher` once the one before succeeded (`Batcher.submit_chain`).

    `then` gives the call after this one from this one's result (None: the last); it runs on
    whichever thread leads the batch, so it must be quick, must not raise, and must not
    read the thread's context (its deadline). `end`: this call's own deadline
    (time.monotonic()), instead of the one before's."""

    batcher: BatcherLike
    item: Any
    then: Next | None = None
    end: float | None = None

    def run(self) -> Any:
        """Make it now, on this thread: its result, or the exception it raised."""
        try:
            return self.batcher.submit(self.item)
        except Exception as exc:  # noqa: BLE001 - handed to the caller as the outcome
            return exc


# From a call's result, the followup to make next, or None when the chain ends there.
Next = Callable[[Any], Followup | None]


class Entry:
    """One caller's item, from its first batcher to the last (a followup moves it on)."""

    __slots__ = (
        "item",
        "end",
        "batcher",
        "then",
        "wake",
        "lead",
        "taken",
        "done",
        "outcome",
        "earlier",
    )

    def __init__(self, item: Any, end: float, batcher: BatcherLike, then: Any) -> None:
        self.item = item
        self.end = end  # time.monotonic() at which the caller's deadline passes
        self.batcher = batcher  # where the item is queued or in flight now
        self.then: Next | None = then
        self.wake = Signal()
        self.lead = False
        self.taken = False
        self.done = False
        self.outcome: Any = None  # the result, or the exception to raise in the caller
        self.earlier: list[Any] = []  # the results of the calls before this one


@dataclass
class BatchStats:
    """What a batcher has sent so far (for the benchmark's batch-size figures)."""

    batches: int = 0
    items: int = 0
    largest: int = 0

    def as_dict(self) -> dict[str, float]:
        mean = self.items / self.batches if self.batches else 0.0
        return {
            "batches": self.batches,
            "items": self.items,
            "largest": self.largest,
            "mean": round(mean, 2),
        }
