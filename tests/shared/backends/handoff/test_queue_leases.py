"""The heartbeat timer itself, and the local queue's message leases renewed while their batch
runs: two processes' queues on one outbox file, on a clock of the test's own (so leases and
their ends are exact), and renewals waited for, never timed."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import pytest

from shared._renewals import Renewals
from shared.backends.handoff._local import LocalQueue
from shared.backends.handoff._local_worker import BatchLease
from tests.shared.processing.test_heartbeat_leases import SAFETY, Counter
from tests.support.helpers import publish_push


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_renewed_message_lease_keeps_other_workers_off_and_a_lapsed_one_frees_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Two processes' queues on one outbox file: the holder's heartbeat keeps the batch its
    own for as long as it runs; once the beats stop (a crash), the next lease takes it."""
    clock = _Clock()
    path = tmp_path / "queue.sqlite3"
    mine = LocalQueue(path, clock=clock, lease_seconds=10)
    theirs = LocalQueue(path, clock=clock, lease_seconds=10)
    publish_push(mine, "t", "m-1")
    leased = mine.lease_batch("t", 16)
    assert isinstance(leased, list) and len(leased) == 1
    lease = BatchLease(mine, leased)
    for _ in range(6):  # two leases' worth of time, renewed every third of it
        clock.now += 10 / 3
        assert lease.renew() is True
        assert theirs.lease_batch("t", 16) == []
    clock.now += 11  # no beat since: the holder crashed
    taken = theirs.lease_batch("t", 16)
    assert isinstance(taken, list) and [m.message_id for m in taken] == [leased[0].message_id]
    with caplog.at_level(logging.WARNING, logger="runrun.queue"):
        assert lease.renew() is False  # the old holder's beat, late: refused, and said so
    assert "local queue lease lost: another process may run these messages" in caplog.text


def test_a_message_given_back_is_no_longer_renewed(tmp_path: Path) -> None:
    clock = _Clock()
    queue = LocalQueue(tmp_path / "queue.sqlite3", clock=clock, lease_seconds=10)
    for delivery_id in ("g-1", "g-2"):
        publish_push(queue, "t", delivery_id)
    leased = queue.lease_batch("t", 16)
    assert isinstance(leased, list) and len(leased) == 2
    lease = BatchLease(queue, leased)
    lease.give_back(leased[:1])
    queue.failed(leased[0], "boom")  # its failure recorded: leased_until back to 0
    clock.now += 4
    assert lease.renew() is True and set(lease.held) == {leased[1].row_id}
    lease.give_back(leased[1:])
    assert lease.renew() is False  # nothing left to renew: the beat stops


def test_renewals_run_until_cancelled_and_a_cancel_waits_for_a_running_one() -> None:
    renewals = Renewals()
    beats = Counter()
    inside, release = threading.Event(), threading.Event()

    def renew() -> bool:
        beats.add()
        if beats.count == 3:
            inside.set()
            assert release.wait(SAFETY)
        return True

    beat = renewals.every(0.01, renew)
    try:
        assert inside.wait(SAFETY)
        cancelled = threading.Event()
        canceller = threading.Thread(target=lambda: (beat.cancel(), cancelled.set()))
        canceller.start()
        assert not cancelled.wait(0.05)  # held while the third renewal runs
        release.set()
        canceller.join(SAFETY)
        assert cancelled.is_set() and beats.count == 3  # and none after it
        stopped = renewals.every(0.01, lambda: (beats.add(), False)[1])
        beats.wait_for(4)
        deadline = time.monotonic() + SAFETY  # wait for the flag itself, never for a time
        while not stopped.cancelled and time.monotonic() < deadline:
            time.sleep(0.01)
        assert stopped.cancelled  # a renewal that returns False ends its beat
        assert beats.count == 4
    finally:
        release.set()
        renewals.close()
