"""Group commit: concurrent writers share one transaction, and so one fsync.

A durable SQLite commit costs an fsync, and commits to one file happen one at a time; with
80 requests in flight, each waiting for its own fsync, the fsyncs alone cap the rate. The
shared `Batcher` (shared/backends/_batching.py) does the grouping: a writer still queued when its
deadline passes withdraws its row, which is then never written; once its row is taken into
a batch it waits for that batch, which takes milliseconds, so no row is written behind an
answer that said it was not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from shared.backends._batching import Batcher

Row = TypeVar("Row")


class GroupCommit(Generic[Row]):
    def __init__(self, write_batch: Callable[[list[Row]], Any]) -> None:
        self._write_batch = write_batch
        self._batcher: Batcher[Row, None] = Batcher("local queue", self._send)

    def _send(self, rows: list[Row], timeout: float) -> list[None]:
        self._write_batch(rows)  # a local transaction: milliseconds, whatever the timeout
        return [None] * len(rows)

    def write(self, row: Row) -> None:
        """Return once `row` is committed.

        Raises:
            BackendUnavailable: the request's deadline passed while queued (the row is not
                written), or the batch holding it failed.
        """
        self._batcher.submit(row)

    def stats(self) -> dict[str, float]:
        """Transactions and rows committed so far."""
        return self._batcher.stats()
