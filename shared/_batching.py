"""Group commit for any backend call: concurrent callers share one round trip.

With 80 requests in flight, each waiting for its own round trip to the store or the queue,
the round trips cap the rate. Here the first caller to arrive becomes the leader: it takes
every item queued so far, sends them in one call on its own thread, gives each caller its
own outcome, and hands the lead to the oldest caller still waiting. While one batch is in
flight the next one gathers; nobody waits for a batch to fill.

- Deadlines: a caller still queued when its deadline passes withdraws its item, which is
  then never sent. A batch's call carries the earliest deadline among its callers, so every
  caller hears its outcome inside its own deadline, and nothing is sent on a caller's behalf
  after it answered.
- Outcomes are per item: `send` returns one result or one exception per item (a conflict on
  one key fails that caller alone); if `send` itself raises, exactly the callers of that
  batch fail, with BackendUnavailable.
- `key`: items with the same key never share a batch (Firestore refuses two writes to one
  document in a BatchWrite); the later one waits for the next batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from ._batch_sizes import record as record_batch
from ._deadline import remaining
from ._errors import BackendUnavailable

Item = TypeVar("Item")
Result = TypeVar("Result")

# An item with less time left than this when its batch is sent is failed unsent: a call
# with no time to answer in would only fail its batchmates too.
_MIN_SECONDS = 0.01


class _Signal:
    """A one-way flag like threading.Event, on one bare lock: an Event is a Condition with
    its own lock and waiter list, and with 80 callers creating, waiting on and setting one
    each per item, that bookkeeping was 9% of a receiving worker's Python time (py-spy).
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


@dataclass(eq=False)
class _Entry(Generic[Item]):
    item: Item
    end: float  # time.monotonic() at which the caller's deadline passes
    wake: _Signal = field(default_factory=_Signal)
    lead: bool = False
    taken: bool = False
    outcome: Any = None  # the result, or the exception to raise in the caller


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


class Batcher(Generic[Item, Result]):
    def __init__(
        self,
        name: str,
        send: Callable[[list[Item], float], Sequence[Result | BaseException]],
        *,
        max_items: int = 500,
        key: Callable[[Item], Hashable] | None = None,
        size: Callable[[Item], int] | None = None,
        max_size: int = 0,
    ) -> None:
        """`send(items, timeout)` makes the one call for a batch within `timeout` seconds
        and returns one outcome per item, in order. `size`/`max_size` cap a batch's bytes
        (a batch always takes at least its first item)."""
        self.name = name
        self._send, self._max_items, self._key = send, max_items, key
        self._size, self._max_size = size, max_size
        self._mutex = threading.Lock()
        self._queued: list[_Entry[Item]] = []
        self._leading = False
        self._stats = BatchStats()

    def stats(self) -> dict[str, float]:
        with self._mutex:
            return self._stats.as_dict()

    def submit(self, item: Item) -> Result:
        """`item`'s own outcome, once the batch holding it has been sent.

        Raises:
            BackendUnavailable: the deadline passed while queued (the item was not sent),
                or the batch's call failed as a whole.
            Exception: whatever `send` gave as this item's own outcome.
        """
        entry: _Entry[Item] = _Entry(item, time.monotonic() + remaining())
        with self._mutex:
            self._queued.append(entry)
            if not self._leading:
                self._leading = entry.lead = True
        if not entry.lead:
            self._wait(entry)
        if entry.lead:
            self._send_batch()
        if isinstance(entry.outcome, BaseException):
            raise entry.outcome
        result: Result = entry.outcome
        return result

    def _wait(self, entry: _Entry[Item]) -> None:
        if entry.wake.wait(max(0.0, entry.end - time.monotonic())):
            return
        with self._mutex:
            if not entry.taken and not entry.lead:
                self._queued.remove(entry)
                raise BackendUnavailable(
                    f"{self.name} busy past the deadline", retry_after=1, may_have_applied=False
                )
        entry.wake.wait()  # taken into a batch (bounded by its deadline), or made leader

    def _take(self) -> list[_Entry[Item]]:
        """The next batch, oldest first (the leader's own item is always the oldest)."""
        batch: list[_Entry[Item]] = []
        rest: list[_Entry[Item]] = []
        keys: set[Hashable] = set()
        size = 0
        with self._mutex:
            for entry in self._queued:
                item_key = self._key(entry.item) if self._key else None
                item_size = self._size(entry.item) if self._size else 0
                fits = len(batch) < self._max_items and (
                    not batch or not self._max_size or size + item_size <= self._max_size
                )
                if fits and (item_key is None or item_key not in keys):
                    entry.taken = True
                    batch.append(entry)
                    keys.add(item_key)
                    size += item_size
                else:
                    rest.append(entry)
            self._queued = rest
            if batch:
                self._stats.batches += 1
                self._stats.items += len(batch)
                self._stats.largest = max(self._stats.largest, len(batch))
                record_batch(self.name, len(batch))
        return batch

    def _send_batch(self) -> None:
        batch = self._take()
        now = time.monotonic()
        live = [entry for entry in batch if entry.end - now > _MIN_SECONDS]
        for entry in batch:
            if entry not in live:
                entry.outcome = BackendUnavailable(
                    "backend deadline exceeded", retry_after=1, may_have_applied=False
                )
        try:
            if live:
                timeout = min(entry.end for entry in live) - now
                outcomes = self._send([entry.item for entry in live], timeout)
                if len(outcomes) != len(live):
                    raise RuntimeError(f"{len(outcomes)} outcomes for {len(live)} items")
                for entry, outcome in zip(live, outcomes, strict=True):
                    entry.outcome = outcome
        except BaseException as exc:  # every caller of the batch answers for it (503)
            for entry in live:
                failed = BackendUnavailable(f"{self.name} failed: {exc}", retry_after=1)
                failed.__cause__ = exc
                entry.outcome = failed
            if not isinstance(exc, Exception):
                raise  # interrupted: the callers fail, the interrupt goes on
        finally:
            with self._mutex:
                if self._queued:  # hand the lead to the oldest caller still waiting
                    following = self._queued[0]
                    following.lead = True
                    following.wake.set()
                else:
                    self._leading = False
            for entry in batch:
                entry.lead = False
                entry.wake.set()
