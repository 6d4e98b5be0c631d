"""Group commit: concurrent rows share transactions, every row is written exactly once, a
failed batch fails each of its writers, and a writer queued past its deadline is withdrawn."""

from __future__ import annotations

import threading

import pytest

from shared import BackendUnavailable, deadline_scope
from shared.backends.handoff._group_commit import GroupCommit


def test_concurrent_writers_share_batches_and_each_row_is_written_once() -> None:
    batches: list[list[int]] = []
    gate = threading.Event()

    def write_batch(rows: list[int]) -> None:
        gate.wait(5)  # hold the first batch so that the others queue up behind it
        batches.append(rows)

    commits = GroupCommit(write_batch)
    threads = [threading.Thread(target=commits.write, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    written = [row for batch in batches for row in batch]
    assert sorted(written) == list(range(40))
    assert len(batches) < 40  # rows were grouped


def test_a_failed_batch_fails_each_writer_with_503() -> None:
    def write_batch(rows: list[int]) -> None:
        raise OSError("disk full")

    commits = GroupCommit(write_batch)
    with pytest.raises(BackendUnavailable) as raised:
        commits.write(1)
    assert raised.value.status_code == 503


def test_a_writer_queued_past_its_deadline_is_withdrawn_and_never_written() -> None:
    written: list[str] = []
    writing, release = threading.Event(), threading.Event()

    def write_batch(rows: list[str]) -> None:
        if rows == ["slow"]:
            writing.set()
            release.wait(5)
        written.extend(rows)

    commits = GroupCommit(write_batch)
    leader = threading.Thread(target=commits.write, args=("slow",))
    leader.start()
    assert writing.wait(5)  # the leader's batch is being written: "late" must queue
    with deadline_scope(0.2), pytest.raises(BackendUnavailable):
        commits.write("late")
    release.set()
    leader.join(5)
    commits.write("after")
    assert written == ["slow", "after"]
