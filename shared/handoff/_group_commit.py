"""Group commit: concurrent writers share one transaction, and so one fsync.

A durable SQLite commit costs an fsync, and commits to one file happen one at a time; with
80 requests in flight, each waiting for its own fsync, the fsyncs alone cap the rate. Here
the first writer to arrive becomes the leader: it takes every row queued so far, writes them
in one transaction, wakes their writers, and hands the lead to the next writer waiting.
A writer still queued when its deadline passes withdraws its row, which is then never
written; once its row is taken into a batch it waits for that batch, which takes
milliseconds, so no row is written behind an answer that said it was not.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .._deadline import remaining
from .._errors import BackendUnavailable

Row = TypeVar("Row")


@dataclass(eq=False)
class _Entry(Generic[Row]):
    row: Row
    wake: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    taken: bool = False
    error: BaseException | None = None


class GroupCommit(Generic[Row]):
    def __init__(self, write_batch: Callable[[list[Row]], Any]) -> None:
        self._write_batch = write_batch
        self._mutex = threading.Lock()
        self._queued: list[_Entry[Row]] = []
        self._leading = False

    def write(self, row: Row) -> None:
        """Return once `row` is committed.

        Raises:
            BackendUnavailable: the request's deadline passed while queued (the row is not
                written), or the batch holding it failed.
        """
        entry: _Entry[Row] = _Entry(row)
        with self._mutex:
            self._queued.append(entry)
            if not self._leading:
                self._leading = entry.lead = True
        if not entry.lead:
            self._wait(entry)
        if entry.lead:
            self._commit_batch()
        if entry.error is not None:
            raise BackendUnavailable(f"local queue failed: {entry.error}", 1) from entry.error

    def _wait(self, entry: _Entry[Row]) -> None:
        if entry.wake.wait(remaining()):
            return
        with self._mutex:
            if not entry.taken and not entry.lead:
                self._queued.remove(entry)
                raise BackendUnavailable("local queue busy past the deadline", retry_after=1)
        entry.wake.wait()  # taken into a batch, or made leader, just now

    def _commit_batch(self) -> None:
        with self._mutex:
            batch, self._queued = self._queued, []
            for entry in batch:
                entry.taken = True
        failure: BaseException | None = None
        try:
            self._write_batch([entry.row for entry in batch])
        except Exception as exc:  # every writer of the batch answers for it (503)
            failure = exc
        except BaseException as exc:  # interrupted: the writers fail, the interrupt goes on
            failure = exc
            raise
        finally:
            for entry in batch:
                entry.error = failure
            with self._mutex:
                if self._queued:  # hand the lead to the oldest writer still waiting
                    following = self._queued[0]
                    following.lead = True
                    following.wake.set()
                else:
                    self._leading = False
            for entry in batch:
                entry.lead = False
                entry.wake.set()
