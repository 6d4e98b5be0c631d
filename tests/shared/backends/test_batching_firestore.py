"""Concurrent idempotency writes share one BatchWrite RPC on the real Firestore emulator:
each write keeps its own precondition and its own outcome (a conflicting key fails no other
write), two writes to one document never share a batch, a failed RPC fails exactly its
callers, and a write queued past its deadline is never sent.

The client is the real one; the tests only watch its BatchWrite calls, hold the first one
until the others have queued behind it, and make one of them fail.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import (
    BackendUnavailable,
    ClaimInProgress,
    WebhookError,
    current_runtime,
    deadline_scope,
)
from shared.backends.idempotency import Claim, Idempotency, IdempotencyRecord
from shared.backends.idempotency._firestore import FirestoreStore
from tests.support.emulators import Emulators
from tests.support.pubsub_util import wait_for, warm_up

pytestmark = pytest.mark.emulators

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
HASH = hashlib.sha256(b"a").hexdigest()


class Watch:
    """Every BatchWrite RPC of the runtime's real Firestore client goes through `before`."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        api = current_runtime().firestore._firestore_api
        self._real = api.batch_write
        self.before: Callable[[int], None] = lambda number: None
        self.sizes: list[int] = []
        self._lock = threading.Lock()
        monkeypatch.setattr(api, "batch_write", self._batch_write)

    def _batch_write(self, *, request: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.sizes.append(len(request.writes))
            number = len(self.sizes)
        self.before(number)
        return self._real(request=request, **kwargs)


@pytest.fixture
def store(on_emulators: Emulators) -> FirestoreStore:
    warm_up(on_emulators)
    return FirestoreStore(lambda: current_runtime().firestore, f"batch-{uuid.uuid4().hex[:8]}")


def record(key: str, **changes: Any) -> IdempotencyRecord:
    fields: dict[str, Any] = {
        "target": "github_webhook",
        "key": key,
        "status": "in_progress",
        "payload_hash": HASH,
        "lease_expires_at": T0 + timedelta(seconds=60),
        "expire_at": T0 + timedelta(hours=1),
        "claim_token": "t-" + key,
    }
    fields.update(changes)
    return IdempotencyRecord(**fields)


def run_all(calls: dict[str, Callable[[], Any]], seconds: float = 10.0) -> dict[str, Any]:
    """Start each call in its own thread under its own deadline; their outcomes by name."""
    outcomes: dict[str, Any] = {}

    def one(name: str, call: Callable[[], Any]) -> None:
        with deadline_scope(seconds):
            try:
                outcomes[name] = call()
            except WebhookError as exc:
                outcomes[name] = exc

    threads = [threading.Thread(target=one, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def hold_first_until(store: FirestoreStore, watch: Watch, queued: int) -> threading.Event:
    """Hold the first RPC until `queued` writes wait behind it; set once it is held."""
    held = threading.Event()

    def before(number: int) -> None:
        if number == 1:
            held.set()
            wait_for(lambda: len(store._writes._queued) == queued, f"{queued} queued writes")

    watch.before = before
    return held


def in_background(call: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=lambda: run_all({"leader": call}))
    thread.start()
    return thread


def test_concurrent_claims_share_one_batch_and_a_conflict_fails_only_its_own(
    store: FirestoreStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deadline_scope(10):
        assert store.create(record("taken")) is not None
    watch = Watch(monkeypatch)
    held = hold_first_until(store, watch, 20)
    leader = in_background(lambda: store.create(record("leader")))
    assert held.wait(30)
    keys = [f"k{n}" for n in range(19)]
    calls: dict[str, Callable[[], Any]] = {
        key: (lambda key=key: store.create(record(key))) for key in keys
    }
    calls["taken"] = lambda: store.create(record("taken", claim_token="other"))
    outcomes = run_all(calls)
    leader.join(30)

    assert watch.sizes == [1, 20]
    assert outcomes["taken"] is None  # its precondition failed; nobody else's did
    with deadline_scope(10):
        for key in keys:
            found = store.get(record(key).doc_id)
            assert found is not None and found[1] == outcomes[key]
        taken = store.get(record("taken").doc_id)
    assert taken is not None and taken[0].claim_token == "t-taken"
    # the first "taken" create, then the two batches above
    assert store.stats() == {"batches": 3, "items": 22, "largest": 20, "mean": 7.33}


def test_completions_and_releases_each_keep_their_update_time_precondition(
    store: FirestoreStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with deadline_scope(10):
        versions = {key: store.create(record(key)) for key in ("c1", "c2", "r1", "r2")}
        stale = store.create(record("old"))
        assert store.replace(record("old", status="completed"), stale) is not None
    watch = Watch(monkeypatch)
    held = hold_first_until(store, watch, 5)
    leader = in_background(lambda: store.create(record("leader")))
    assert held.wait(30)
    done = {"status": "completed", "response_status": 200, "response_body": "{}"}
    outcomes = run_all(
        {
            "c1": lambda: store.replace(record("c1", **done), versions["c1"]),
            "c2": lambda: store.replace(record("c2", **done), versions["c2"]),
            "r1": lambda: store.delete(record("r1").doc_id, versions["r1"]),
            "r2": lambda: store.delete(record("r2").doc_id, versions["r2"]),
            "old": lambda: store.delete(record("old").doc_id, stale),  # changed since
        }
    )
    leader.join(30)

    assert watch.sizes == [1, 5]
    assert outcomes["r1"] is True and outcomes["r2"] is True and outcomes["old"] is False
    with deadline_scope(10):
        for key in ("c1", "c2"):
            found = store.get(record(key).doc_id)
            assert found is not None and found[0].status == "completed"
            assert found[1] == outcomes[key]
        assert store.get(record("r1").doc_id) is None
        assert store.get(record("r2").doc_id) is None
        assert store.get(record("old").doc_id) is not None


def test_two_writes_to_one_document_never_share_a_batch(
    store: FirestoreStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = Watch(monkeypatch)
    held = hold_first_until(store, watch, 3)
    leader = in_background(lambda: store.create(record("leader")))
    assert held.wait(30)
    outcomes = run_all(
        {
            "a": lambda: store.create(record("same", claim_token="a")),
            "b": lambda: store.create(record("same", claim_token="b")),
            "other": lambda: store.create(record("other")),
        }
    )
    leader.join(30)

    assert watch.sizes == [1, 2, 1]
    winners = [name for name in ("a", "b") if outcomes[name] is not None]
    assert len(winners) == 1 and outcomes["other"] is not None
    with deadline_scope(10):
        found = store.get(record("same").doc_id)
    assert found is not None and found[0].claim_token == winners[0]


def test_a_failed_rpc_fails_exactly_its_callers(
    store: FirestoreStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.api_core.exceptions import ServiceUnavailable

    watch = Watch(monkeypatch)
    held = threading.Event()

    def before(number: int) -> None:
        if number == 1:
            held.set()
            wait_for(lambda: len(store._writes._queued) == 3, "3 queued writes")
        if number == 2:
            raise ServiceUnavailable("the store is down for this batch")

    watch.before = before
    leader = in_background(lambda: store.create(record("leader")))
    assert held.wait(30)
    outcomes = run_all({key: lambda key=key: store.create(record(key)) for key in "xyz"})
    leader.join(30)
    with deadline_scope(10):
        after = store.create(record("after"))

    assert watch.sizes == [1, 3, 1]
    assert after is not None
    for key in "xyz":
        assert isinstance(outcomes[key], BackendUnavailable)
        assert outcomes[key].may_have_applied is False  # unreachable: never applied
    assert len({id(outcomes[key]) for key in "xyz"}) == 3
    with deadline_scope(10):
        assert store.get(record("leader").doc_id) is not None
        assert all(store.get(record(key).doc_id) is None for key in "xyz")


def test_a_write_queued_past_its_deadline_is_never_sent(
    store: FirestoreStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = Watch(monkeypatch)
    held, release = threading.Event(), threading.Event()

    def before(number: int) -> None:
        if number == 1:
            held.set()
            release.wait(30)

    watch.before = before
    leader = in_background(lambda: store.create(record("leader")))
    assert held.wait(30)
    with deadline_scope(0.2), pytest.raises(BackendUnavailable) as late:
        store.create(record("late"))
    assert late.value.may_have_applied is False
    release.set()
    leader.join(30)

    assert watch.sizes == [1]
    with deadline_scope(10):
        assert store.get(record("late").doc_id) is None


def test_concurrent_claims_of_one_key_through_the_state_machine_have_one_winner(
    store: FirestoreStore,
) -> None:
    machine = Idempotency(store, lease_seconds=60, ttl_seconds=3600)
    outcomes = run_all(
        {
            str(n): lambda: machine.claim("github_webhook", "storm", HASH, token=None)
            for n in range(12)
        }
    )
    claims = [o for o in outcomes.values() if isinstance(o, Claim)]
    assert len(claims) == 1
    assert all(isinstance(o, ClaimInProgress) for o in outcomes.values() if o is not claims[0])
    with deadline_scope(10):
        assert machine.complete(claims[0], 200, "{}", "application/json")
