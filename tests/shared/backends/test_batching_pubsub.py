"""Concurrent publishes share one Publish RPC on the real Pub/Sub emulator: each caller gets
its own message id, a failed RPC fails exactly the callers it carried, a caller queued past
its deadline is never published, and a batch's RPC carries its callers' earliest deadline.

The client under test is the real one; the tests only watch its Publish calls, hold the
first one until the others have queued behind it, and make one of them fail.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from shared import BackendUnavailable, current_runtime, deadline_scope
from shared.backends.handoff._pubsub import PubSubPublisher
from tests.support.emulators import Emulators
from tests.support.pubsub_util import PROJECT, PubSub, wait_for, warm_up

pytestmark = pytest.mark.emulators


class WatchedClient:
    """The runtime's real Pub/Sub client; every Publish RPC goes through `before` first."""

    def __init__(self, real: Any, before: Callable[[int, list[Any], float], None]) -> None:
        self.api = self
        self._real, self._before = real, before
        self.calls: list[tuple[int, float]] = []  # (messages, timeout) per Publish RPC
        self._lock = threading.Lock()

    def publish(self, *, request: Any, retry: Any, timeout: float) -> Any:
        messages = list(request.messages)
        with self._lock:
            self.calls.append((len(messages), timeout))
            number = len(self.calls)
        self._before(number, messages, timeout)
        return self._real.api.publish(request=request, retry=retry, timeout=timeout)

    def create_topic(self, **kwargs: Any) -> Any:
        return self._real.api.create_topic(**kwargs)


@pytest.fixture
def pubsub(on_emulators: Emulators) -> Any:
    warm_up(on_emulators)
    client = PubSub()
    yield client
    client.close()


def _publisher(before: Callable[[int, list[Any], float], None]) -> tuple[PubSubPublisher, Any]:
    watched = WatchedClient(current_runtime().pubsub, before)
    return PubSubPublisher(lambda: watched, lambda: PROJECT, create_topics=True), watched


def _queued(publisher: PubSubPublisher, topic: str) -> int:
    batcher = publisher._batchers.get(f"projects/{PROJECT}/topics/{topic}")
    return 0 if batcher is None else len(batcher._queued)


def _publish_all(
    publisher: PubSubPublisher, topic: str, datas: list[bytes], seconds: float = 10.0
) -> tuple[dict[bytes, str], dict[bytes, BaseException], list[threading.Thread]]:
    ids: dict[bytes, str] = {}
    errors: dict[bytes, BaseException] = {}

    def one(data: bytes) -> None:
        with deadline_scope(seconds):
            try:
                ids[data] = publisher.publish(topic, data, {"n": data.decode()})
            except BackendUnavailable as exc:
                errors[data] = exc

    threads = [threading.Thread(target=one, args=(data,)) for data in datas]
    for thread in threads:
        thread.start()
    return ids, errors, threads


def test_concurrent_publishes_share_one_rpc_and_each_caller_gets_its_own_id(
    pubsub: PubSub,
) -> None:
    topic = f"batch-{uuid.uuid4().hex[:8]}"
    subscription = pubsub.subscribe(topic)
    first_sent = threading.Event()
    publisher: PubSubPublisher

    def before(number: int, messages: list[Any], timeout: float) -> None:
        if number == 1:  # hold the first RPC until the other 19 callers queued behind it
            first_sent.set()
            wait_for(lambda: _queued(publisher, topic) == 19, "19 queued publishes")

    publisher, watched = _publisher(before)
    leader_ids, _, leader = _publish_all(publisher, topic, [b"leader"])
    assert first_sent.wait(30)
    datas = [f"m{n}".encode() for n in range(19)]
    ids, errors, threads = _publish_all(publisher, topic, datas)
    for thread in [*leader, *threads]:
        thread.join(30)

    assert errors == {}
    assert [count for count, _ in watched.calls] == [1, 19]  # 20 callers, two RPCs
    ids.update(leader_ids)
    assert len(set(ids.values())) == 20
    received = pubsub.pull(subscription, expected=20)
    assert {m.message.data: m.message.message_id for m in received} == ids
    assert publisher.stats()[f"projects/{PROJECT}/topics/{topic}"] == {
        "batches": 2,
        "items": 20,
        "largest": 19,
        "mean": 10.0,
    }


def test_a_failed_rpc_fails_exactly_its_callers(pubsub: PubSub) -> None:
    from google.api_core.exceptions import ServiceUnavailable

    topic = f"batch-{uuid.uuid4().hex[:8]}"
    subscription = pubsub.subscribe(topic)
    first_sent = threading.Event()
    publisher: PubSubPublisher

    def before(number: int, messages: list[Any], timeout: float) -> None:
        if number == 1:
            first_sent.set()
            wait_for(lambda: _queued(publisher, topic) == 5, "5 queued publishes")
        if number == 2:  # the queue fails this RPC, and only this one
            raise ServiceUnavailable("the queue is down for this batch")

    publisher, watched = _publisher(before)
    leader_ids, leader_errors, leader = _publish_all(publisher, topic, [b"leader"])
    assert first_sent.wait(30)
    failed_ids, failed, threads = _publish_all(
        publisher, topic, [b"f0", b"f1", b"f2", b"f3", b"f4"]
    )
    for thread in [*leader, *threads]:
        thread.join(30)
    after_ids, after_errors, after = _publish_all(publisher, topic, [b"after"])
    after[0].join(30)

    assert [count for count, _ in watched.calls] == [1, 5, 1]
    assert set(leader_ids) == {b"leader"} and set(after_ids) == {b"after"}
    assert failed_ids == {} and sorted(failed) == [b"f0", b"f1", b"f2", b"f3", b"f4"]
    assert all(exc.status_code == 503 for exc in failed.values())
    assert len({id(exc) for exc in failed.values()}) == 5  # each caller its own exception
    received = pubsub.pull(subscription, expected=2)
    assert sorted(m.message.data for m in received) == [b"after", b"leader"]


def test_a_publish_queued_past_its_deadline_is_never_sent(pubsub: PubSub) -> None:
    topic = f"batch-{uuid.uuid4().hex[:8]}"
    subscription = pubsub.subscribe(topic)
    first_sent, release = threading.Event(), threading.Event()

    def before(number: int, messages: list[Any], timeout: float) -> None:
        if number == 1:
            first_sent.set()
            release.wait(30)

    publisher, watched = _publisher(before)
    _, _, leader = _publish_all(publisher, topic, [b"leader"])
    assert first_sent.wait(30)
    with deadline_scope(0.2), pytest.raises(BackendUnavailable) as late:
        publisher.publish(topic, b"late", {})
    assert late.value.may_have_applied is False
    release.set()
    leader[0].join(30)

    assert [count for count, _ in watched.calls] == [1]
    received = pubsub.pull(subscription, expected=1)
    assert [m.message.data for m in received] == [b"leader"]


def test_a_batch_rpc_carries_its_callers_earliest_deadline(pubsub: PubSub) -> None:
    topic = f"batch-{uuid.uuid4().hex[:8]}"
    pubsub.subscribe(topic)
    first_sent = threading.Event()
    publisher: PubSubPublisher

    def before(number: int, messages: list[Any], timeout: float) -> None:
        if number == 1:
            first_sent.set()
            wait_for(lambda: _queued(publisher, topic) == 2, "2 queued publishes")

    publisher, watched = _publisher(before)
    _, _, leader = _publish_all(publisher, topic, [b"leader"], seconds=30)
    assert first_sent.wait(30)
    _, _, long_one = _publish_all(publisher, topic, [b"long"], seconds=30)
    wait_for(lambda: _queued(publisher, topic) == 1, "the long publish queued")
    _, errors, short_one = _publish_all(publisher, topic, [b"short"], seconds=5)
    for thread in [*leader, *long_one, *short_one]:
        thread.join(30)

    assert errors == {}
    (_, first_timeout), (count, batch_timeout) = watched.calls
    assert count == 2 and first_timeout > 5  # the leader's own 30 s
    assert batch_timeout <= 5  # the short caller's deadline bounds the shared RPC
