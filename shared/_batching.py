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
- Followups: the calls a caller makes one after another, each only once the one before
  succeeded (a delivery's claim, publish and completion). The leader of each batch queues
  its callers' next calls in their batchers for them, so each caller is woken once, with
  every outcome, instead of waking to queue each call itself: each wake-up is a thread
  taking the GIL back, and with 80 request threads those hand-offs were a fifth of a
  receiving worker's Python time (py-spy, docs/benchmarks.md). A followup keeps the
  caller's deadline unless it brings its own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

from ._batch_parts import BatchStats, Entry, Next, Signal
from ._batch_parts import Followup as Followup  # part of this module's interface
from ._batch_sizes import record as record_batch
from ._deadline import remaining
from ._errors import BackendUnavailable

Item = TypeVar("Item")
Result = TypeVar("Result")

# An item with less time left than this when its batch is sent is failed unsent: a call
# with no time to answer in would only fail its batchmates too.
_MIN_SECONDS = 0.01


# A caller whose deadline passed while its item is in flight looks again this often: the
# item may move on to a followup's batcher and queue there, where it can be withdrawn.
_RECHECK_SECONDS = 0.05


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
        self._queued: list[Entry] = []
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
        entry = self._run(item, None)
        if isinstance(entry.outcome, BaseException):
            raise entry.outcome
        result: Result = entry.outcome
        return result

    def submit_then(self, item: Item, then: Followup) -> tuple[Result, Any]:
        """`submit`, and once `item` succeeded, `then`'s call, made before this caller is
        woken: `item`'s result and `then`'s (or the exception `then` failed with). When
        `item` fails, `then` is never made and `item`'s failure is raised as by `submit`."""
        outcomes = self.submit_chain(item, lambda _: then)
        if len(outcomes) == 1:  # `item` itself failed
            raise outcomes[0]
        result: Result = outcomes[0]
        return result, outcomes[1]

    def submit_chain(self, item: Item, then: Next) -> list[Any]:
        """`item`'s call, then each followup `then` gives (see Followup), all made before
        this caller is woken: every call's outcome in order, the last one's possibly the
        exception it failed with (the chain ends at a failure, or where `then` gives None)."""
        entry = self._run(item, then)
        return [*entry.earlier, entry.outcome]

    def _run(self, item: Item, then: Next | None) -> Entry:
        """Queue `item` and take part (waiting or leading) until its caller is done."""
        entry = Entry(item, time.monotonic() + remaining(), self, then)
        with self._mutex:
            self._queued.append(entry)
            if not self._leading:
                self._leading = entry.lead = True
        while True:
            if not entry.lead:
                self._wait(entry)
            if entry.lead:
                entry.batcher._send_batch(entry)
            if entry.done:
                return entry

    @staticmethod
    def _wait(entry: Entry) -> None:
        """Until `entry` is done or leads; withdrawn (done, failed) if its deadline passes
        while it is still queued."""
        timeout = max(0.0, entry.end - time.monotonic())
        while not entry.wake.wait(timeout):
            # Past the deadline. If in flight, its call is bounded by the deadline, but it
            # may move on to a followup and queue there: look again shortly.
            timeout = _RECHECK_SECONDS
            batcher = entry.batcher
            with batcher._mutex:
                if entry.batcher is batcher and not entry.taken and not entry.lead:
                    batcher._queued.remove(entry)
                    entry.outcome = BackendUnavailable(
                        f"{batcher.name} busy past the deadline",
                        retry_after=1,
                        may_have_applied=False,
                    )
                    entry.done = True
                    return

    def _take(self) -> list[Entry]:
        """The next batch, oldest first (the leader's own item is always the oldest)."""
        batch: list[Entry] = []
        rest: list[Entry] = []
        keys: set[Hashable] = set()
        key_of, size_of, max_size = self._key, self._size, self._max_size
        size = 0
        with self._mutex:
            for entry in self._queued:
                if len(batch) >= self._max_items:
                    rest.append(entry)
                    continue
                item_key: Hashable = None
                if key_of is not None:
                    item_key = key_of(entry.item)
                    if item_key in keys:
                        rest.append(entry)
                        continue
                if size_of is not None:
                    item_size = size_of(entry.item)
                    if batch and max_size and size + item_size > max_size:
                        rest.append(entry)
                        continue
                    size += item_size
                keys.add(item_key)
                entry.taken = True
                batch.append(entry)
            self._queued = rest
            if batch:
                self._stats.batches += 1
                self._stats.items += len(batch)
                self._stats.largest = max(self._stats.largest, len(batch))
                record_batch(self.name, len(batch))
        return batch

    def _send_batch(self, leader: Entry) -> None:
        """Send the next batch as `leader` (the calling thread's own entry)."""
        batch = self._take()
        now = time.monotonic()
        live: list[Entry] = []
        for entry in batch:
            if entry.end - now > _MIN_SECONDS:
                live.append(entry)
            else:
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
            onward: dict[int, tuple[Batcher[Any, Any], list[Entry]]] = {}
            for entry in batch:
                entry.lead = False
                step = self._next(entry)
                if step is None:
                    entry.done = True
                    entry.wake.set()
                    continue
                entry.earlier.append(entry.outcome)
                entry.item, entry.then = step.item, step.then
                if step.end is not None:
                    entry.end = step.end
                onward.setdefault(id(step.batcher), (step.batcher, []))[1].append(entry)
            for batcher, entries in onward.values():
                batcher._adopt(entries, leader)

    @staticmethod
    def _next(entry: Entry) -> Followup | None:
        then = entry.then
        if then is None or isinstance(entry.outcome, BaseException):
            return None
        try:
            return then(entry.outcome)
        except Exception as exc:  # noqa: BLE001 - a bug in `then`: its caller gets it
            entry.earlier.append(entry.outcome)
            entry.outcome = exc
            return None

    def _adopt(self, entries: list[Entry], current: Entry) -> None:
        """Queue `entries` (moved on from another batcher) here, keeping their callers
        asleep; `current` is the calling thread's own entry, awake already."""
        wake: Entry | None = None
        with self._mutex:
            for entry in entries:
                if entry is current:
                    entry.wake = Signal()  # its old one was set when it was made leader
                entry.batcher, entry.taken = self, False
                self._queued.append(entry)
            if not self._leading:
                self._leading = True
                first = self._queued[0]
                first.lead = True
                if first is not current:
                    wake = first
        if wake is not None:
            wake.wake.set()
