"""One contract for every IdempotencyStore: memory, SQLite and Firestore on its real emulator.

The same tests drive the four store operations directly, then the state machine
`Idempotency` above each store (with a fake clock, so leases and expiry are exact).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared import ClaimInProgress, PayloadMismatch, deadline_scope
from shared.backends.idempotency import (
    Claim,
    Idempotency,
    IdempotencyRecord,
    IdempotencyStore,
    Replay,
)
from tests.support.helpers import idempotency_store

FIRESTORE = pytest.param("firestore", id="firestore", marks=pytest.mark.emulators)
BACKENDS = [pytest.param("memory", id="memory"), pytest.param("sqlite", id="sqlite"), FIRESTORE]
# Every contract test runs once per backend; the `store` fixture builds the one named.
each_store = pytest.mark.parametrize("store", BACKENDS, indirect=True)

TARGET = "github_webhook"
LEASE = 60
TTL = 3600
T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
HASH_A = hashlib.sha256(b"a").hexdigest()
HASH_B = hashlib.sha256(b"b").hexdigest()


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IdempotencyStore]:
    built: IdempotencyStore = idempotency_store(request.param, request, tmp_path)
    yield built
    built.close()


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def machine(store: IdempotencyStore, clock: FakeClock) -> Idempotency:
    return Idempotency(store, lease_seconds=LEASE, ttl_seconds=TTL, clock=clock)


def record(key: str = "k1", **changes: object) -> IdempotencyRecord:
    fields: dict[str, object] = {
        "target": TARGET,
        "key": key,
        "status": "in_progress",
        "payload_hash": HASH_A,
        # Whole seconds: every backend must round-trip them exactly.
        "lease_expires_at": T0 + timedelta(seconds=LEASE),
        "expire_at": T0 + timedelta(seconds=TTL),
    }
    fields.update(changes)
    return IdempotencyRecord(**fields)  # type: ignore[arg-type]


# --- the four store operations -------------------------------------------------------------


@each_store
def test_create_if_absent(store: IdempotencyStore) -> None:
    first = record(claim_token="token-1")
    version = store.create(first)
    assert version is not None
    assert store.create(record(payload_hash=HASH_B)) is None, "create must not overwrite"
    found = store.get(first.doc_id)
    assert found is not None
    got, got_version = found
    assert got == first
    assert got_version == version


@each_store
def test_get_absent_is_none(store: IdempotencyStore) -> None:
    assert store.get(record("never-created").doc_id) is None


@each_store
def test_replace_is_compare_and_swap(store: IdempotencyStore) -> None:
    original = record()
    v1 = store.create(original)
    assert v1 is not None
    done = record(
        status="completed",
        response_status=200,
        response_body='{"status": "accepted"}',
        response_content_type="application/json",
    )
    v2 = store.replace(done, v1)
    assert v2 is not None and v2 != v1
    found = store.get(original.doc_id)
    assert found is not None and found == (done, v2)
    # A writer still holding the old version loses, and changes nothing.
    assert store.replace(record(payload_hash=HASH_B), v1) is None
    found = store.get(original.doc_id)
    assert found is not None and found[0] == done
    # Replacing a record that does not exist never creates it.
    assert store.replace(record("absent"), v2) is None
    assert store.get(record("absent").doc_id) is None


@each_store
def test_delete_is_compare_and_delete(store: IdempotencyStore) -> None:
    original = record()
    v1 = store.create(original)
    assert v1 is not None
    v2 = store.replace(record(payload_hash=HASH_B), v1)
    assert v2 is not None
    assert store.delete(original.doc_id, v1) is False, "a stale version must not delete"
    assert store.get(original.doc_id) is not None
    assert store.delete(original.doc_id, v2) is True
    assert store.get(original.doc_id) is None
    assert store.delete(original.doc_id, v2) is False, "deleting twice must report False"
    assert store.create(original) is not None, "a deleted key can be created again"


# --- the state machine above each store ----------------------------------------------------


@each_store
def test_claim_complete_replay(machine: Idempotency) -> None:
    claim = machine.claim(TARGET, "d-1", HASH_A)
    assert isinstance(claim, Claim)
    assert claim.record.status == "in_progress"
    assert machine.complete(claim, 200, '{"status": "accepted"}', "application/json") is True
    replay = machine.claim(TARGET, "d-1", HASH_A)
    assert replay == Replay(200, '{"status": "accepted"}', "application/json")
    # Replays do not change the record: a third attempt replays too.
    assert machine.claim(TARGET, "d-1", HASH_A) == replay


@each_store
def test_in_progress_is_409_with_retry_after(machine: Idempotency, clock: FakeClock) -> None:
    assert isinstance(machine.claim(TARGET, "d-2", HASH_A), Claim)
    with pytest.raises(ClaimInProgress) as caught:
        machine.claim(TARGET, "d-2", HASH_A)
    assert caught.value.status_code == 409
    assert caught.value.retry_after == LEASE
    assert caught.value.headers() == {"Retry-After": str(LEASE)}
    clock.advance(LEASE - 0.5)
    with pytest.raises(ClaimInProgress) as caught:
        machine.claim(TARGET, "d-2", HASH_A)
    assert caught.value.retry_after == 1


# --- ambiguous outcomes never strand a key ---------------------------------------------------

RECEIVE_LEASE = 8  # a receiving request's claim lasts its deadline (GitHub: 8 s)
ANSWER = (200, '{"status": "accepted"}', "application/json")


def receive_lease(clock: FakeClock) -> datetime:
    return clock.now + timedelta(seconds=RECEIVE_LEASE)


@each_store
def test_a_receive_claim_lasts_its_own_lease(machine: Idempotency, clock: FakeClock) -> None:
    first = machine.claim(TARGET, "r-1", HASH_A, lease_until=receive_lease(clock))
    assert isinstance(first, Claim)
    assert first.record.lease_expires_at == clock.now + timedelta(seconds=RECEIVE_LEASE)
    with pytest.raises(ClaimInProgress) as caught:
        machine.claim(TARGET, "r-1", HASH_A)
    assert caught.value.retry_after == RECEIVE_LEASE, "Retry-After is the short lease, not 60 s"
    # Its completion timed out (or its worker died): the key is free once the lease ends.
    clock.advance(RECEIVE_LEASE + 0.5)
    assert isinstance(machine.claim(TARGET, "r-1", HASH_A), Claim)


def _later(delay: float, action: object) -> threading.Thread:
    def run() -> None:
        threading.Event().wait(delay)
        action()  # type: ignore[operator]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@each_store
def test_a_waiting_duplicate_replays_the_first_answer(
    machine: Idempotency, clock: FakeClock
) -> None:
    first = machine.claim(TARGET, "w-1", HASH_A, lease_until=receive_lease(clock))
    assert isinstance(first, Claim)
    done = _later(0.1, lambda: machine.complete(first, *ANSWER))
    with deadline_scope(30):
        assert machine.claim(TARGET, "w-1", HASH_A, wait=True) == Replay(*ANSWER)
    done.join(10)


@each_store
def test_a_waiting_duplicate_claims_a_released_key(machine: Idempotency) -> None:
    first = machine.claim(TARGET, "w-2", HASH_A)
    assert isinstance(first, Claim)
    released = _later(0.1, lambda: machine.release(first))
    with deadline_scope(30):
        assert isinstance(machine.claim(TARGET, "w-2", HASH_A, wait=True), Claim)
    released.join(10)


@each_store
def test_a_waiting_duplicate_takes_over_when_the_lease_ends(
    machine: Idempotency, clock: FakeClock
) -> None:
    # The first attempt answered 2xx but its completion never landed: the duplicate gets a
    # fresh claim (and publishes again) as soon as the short lease ends, never a 409.
    stuck = machine.claim(TARGET, "w-3", HASH_A, lease_until=receive_lease(clock))
    assert isinstance(stuck, Claim)
    moved = _later(0.1, lambda: clock.advance(RECEIVE_LEASE + 1))
    with deadline_scope(30):
        taken = machine.claim(TARGET, "w-3", HASH_A, wait=True)
    assert isinstance(taken, Claim)
    moved.join(10)
    assert machine.complete(stuck, *ANSWER) is False, "the stale attempt lost the key"


@each_store
def test_a_wait_ends_with_the_deadline_as_409(machine: Idempotency) -> None:
    assert isinstance(machine.claim(TARGET, "w-4", HASH_A), Claim)
    with deadline_scope(0.3), pytest.raises(ClaimInProgress) as caught:
        machine.claim(TARGET, "w-4", HASH_A, wait=True)
    assert caught.value.retry_after == LEASE


@each_store
def test_settle_records_an_unclaimed_hand_off(machine: Idempotency) -> None:
    # The store was down at claim time: nothing was written, the delivery was published.
    assert machine.settle(TARGET, "s-1", HASH_A, "token-s1", ANSWER) is True
    assert machine.claim(TARGET, "s-1", HASH_A) == Replay(*ANSWER)


@each_store
def test_settle_completes_the_own_record_whose_create_timed_out(
    machine: Idempotency, store: IdempotencyStore, clock: FakeClock
) -> None:
    # The create landed, but its answer never came back: the record is found by its token.
    lease = receive_lease(clock)
    landed = machine.claim(TARGET, "s-2", HASH_A, lease_until=lease, token="mine")
    assert isinstance(landed, Claim) and landed.record.claim_token == "mine"
    assert machine.settle(TARGET, "s-2", HASH_A, "mine", ANSWER) is True
    found = store.get(landed.record.doc_id)
    assert found is not None and found[0].status == "completed"
    assert machine.claim(TARGET, "s-2", HASH_A) == Replay(*ANSWER)


@each_store
def test_settle_leaves_another_live_attempt_alone(
    machine: Idempotency, store: IdempotencyStore, clock: FakeClock
) -> None:
    lease = receive_lease(clock)
    other = machine.claim(TARGET, "s-3", HASH_A, lease_until=lease, token="theirs")
    assert isinstance(other, Claim)
    assert machine.settle(TARGET, "s-3", HASH_A, "mine", ANSWER) is False
    assert store.get(other.record.doc_id) == (other.record, other.version)
    # Once its lease has ended, the unclaimed attempt's answer is recorded over it.
    clock.advance(RECEIVE_LEASE + 1)
    assert machine.settle(TARGET, "s-3", HASH_A, "mine", ANSWER) is True
    assert machine.complete(other, 200, "late", "text/plain") is False


@each_store
def test_settle_keeps_a_completed_answer(machine: Idempotency) -> None:
    first = machine.claim(TARGET, "s-4", HASH_A)
    assert isinstance(first, Claim)
    assert machine.complete(first, 202, "first", "text/plain")
    assert machine.settle(TARGET, "s-4", HASH_A, "mine", ANSWER) is True
    assert machine.claim(TARGET, "s-4", HASH_A) == Replay(202, "first", "text/plain")


def test_sqlite_file_without_claim_tokens_gets_the_column(tmp_path: Path) -> None:
    from shared.backends.idempotency._sqlite import SqliteStore

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE idempotency_keys (doc_id TEXT PRIMARY KEY, target TEXT NOT NULL, "
            "key TEXT NOT NULL, status TEXT NOT NULL, payload_hash TEXT NOT NULL, "
            "lease_expires_at REAL NOT NULL, expire_at REAL NOT NULL, response_status INTEGER, "
            "response_body TEXT, response_content_type TEXT, version INTEGER NOT NULL)"
        )
        old.execute(
            "INSERT INTO idempotency_keys VALUES (?, ?, ?, 'completed', ?, ?, ?, 200, 'ok', "
            "'text/plain', 7)",
            (record("old").doc_id, TARGET, "old", HASH_A, T0.timestamp(), T0.timestamp() + TTL),
        )
    store = SqliteStore(path)
    try:
        found = store.get(record("old").doc_id)
        assert found is not None and found[0].claim_token == "" and found[1] == 7
        assert store.create(record("new", claim_token="t")) is not None
    finally:
        store.close()


@each_store
def test_different_payload_is_422(machine: Idempotency) -> None:
    claim = machine.claim(TARGET, "d-3", HASH_A)
    assert isinstance(claim, Claim)
    with pytest.raises(PayloadMismatch) as caught:
        machine.claim(TARGET, "d-3", HASH_B)
    assert caught.value.status_code == 422
    machine.complete(claim, 200, "{}", "application/json")
    with pytest.raises(PayloadMismatch):
        machine.claim(TARGET, "d-3", HASH_B)


@each_store
def test_keys_are_namespaced_by_target(machine: Idempotency) -> None:
    assert isinstance(machine.claim("github_webhook", "same", HASH_A), Claim)
    assert isinstance(machine.claim("stripe_webhook", "same", HASH_B), Claim)


@each_store
def test_release_lets_the_key_be_claimed_again(machine: Idempotency) -> None:
    claim = machine.claim(TARGET, "d-4", HASH_A)
    assert isinstance(claim, Claim)
    assert machine.release(claim) is True
    again = machine.claim(TARGET, "d-4", HASH_A)
    assert isinstance(again, Claim)
    assert machine.release(claim) is False, "a stale claim must not release the new one"
    with pytest.raises(ClaimInProgress):
        machine.claim(TARGET, "d-4", HASH_A)


@each_store
def test_expired_lease_is_taken_over(machine: Idempotency, clock: FakeClock) -> None:
    crashed = machine.claim(TARGET, "d-5", HASH_A)
    assert isinstance(crashed, Claim)
    clock.advance(LEASE + 1)
    taken = machine.claim(TARGET, "d-5", HASH_A)
    assert isinstance(taken, Claim)
    assert taken.record.lease_expires_at == clock.now + timedelta(seconds=LEASE)
    # The crashed attempt came back late: it can neither complete nor release.
    assert machine.complete(crashed, 200, "late", "text/plain") is False
    assert machine.release(crashed) is False
    assert machine.complete(taken, 200, "new", "text/plain") is True
    assert machine.claim(TARGET, "d-5", HASH_A) == Replay(200, "new", "text/plain")


@each_store
def test_a_renewed_lease_is_never_taken_over(machine: Idempotency, clock: FakeClock) -> None:
    """A live run's heartbeat: each renewal is a full lease from now, so a run that lasts
    many leases keeps its key; a run taken over (its lease ran out) renews nothing."""
    claim = machine.claim(TARGET, "h-1", HASH_A)
    assert isinstance(claim, Claim)
    for _ in range(4):  # four leases' worth of time, renewed every third of a lease
        for _ in range(3):
            clock.advance(LEASE / 3)
            renewed = machine.renew(claim)
            assert renewed is not None
            assert renewed.record.lease_expires_at == clock.now + timedelta(seconds=LEASE)
            claim = renewed
        with pytest.raises(ClaimInProgress):
            machine.claim(TARGET, "h-1", HASH_A)
    clock.advance(LEASE + 1)  # the heartbeat stopped (a crash): the lease runs out
    taken = machine.claim(TARGET, "h-1", HASH_A)
    assert isinstance(taken, Claim)
    assert machine.renew(claim) is None, "a lost claim must not renew the new holder's"
    assert machine.complete_run(claim, 200, "late", "text/plain") is False
    assert machine.complete_run(taken, 200, "new", "text/plain") is True


@each_store
def test_a_completion_that_landed_unseen_is_recognised_as_its_own(machine: Idempotency) -> None:
    """A renewal or completion whose answer was lost (a timeout) changed the version the
    run holds: the next write finds the record still carries the run's claim token."""
    claim = machine.claim(TARGET, "h-2", HASH_A)
    assert isinstance(claim, Claim)
    assert machine.renew(claim) is not None  # landed, but the run never heard of it
    renewed = machine.renew(claim)  # written over the version found, as this run's own
    assert renewed is not None
    assert machine.complete(renewed, 200, "done", "text/plain")  # landed unseen too
    assert machine.complete_run(renewed, 200, "done", "text/plain") is True
    assert machine.renew(renewed) is None, "a completed record is never put back in progress"
    assert machine.claim(TARGET, "h-2", HASH_A) == Replay(200, "done", "text/plain")


@each_store
def test_expired_record_is_taken_over(machine: Idempotency, clock: FakeClock) -> None:
    claim = machine.claim(TARGET, "d-6", HASH_A)
    assert isinstance(claim, Claim)
    assert machine.complete(claim, 200, "old", "text/plain")
    clock.advance(TTL + 1)
    # Past expire_at the record counts as absent even though it is still stored (a
    # Firestore TTL policy deletes up to a day late): a new payload is a new claim.
    fresh = machine.claim(TARGET, "d-6", HASH_B)
    assert isinstance(fresh, Claim)
    assert fresh.record.payload_hash == HASH_B
    assert fresh.record.expire_at == clock.now + timedelta(seconds=TTL)


@each_store
def test_concurrent_claims_yield_exactly_one(machine: Idempotency) -> None:
    threads = 20
    barrier = threading.Barrier(threads)
    outcomes: list[object] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            outcome: object = machine.claim(TARGET, "d-race", HASH_A)
        except Exception as exc:  # noqa: BLE001 - every outcome is counted below
            outcome = exc
        with lock:
            outcomes.append(outcome)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    claims = [o for o in outcomes if isinstance(o, Claim)]
    in_progress = [o for o in outcomes if isinstance(o, ClaimInProgress)]
    assert len(outcomes) == threads
    assert len(claims) == 1, outcomes
    assert len(in_progress) == threads - 1, outcomes


# --- what a person reading the Firestore collection sees ------------------------------------


@pytest.mark.parametrize("store", [FIRESTORE], indirect=True)
def test_firestore_document_fields(machine: Idempotency) -> None:
    from google.api_core.datetime_helpers import DatetimeWithNanoseconds

    from shared import current_runtime, get_settings

    key = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    claim = machine.claim(TARGET, key, HASH_A)
    assert isinstance(claim, Claim)
    machine.complete(claim, 200, '{"status": "accepted"}', "application/json")

    firestore = current_runtime().firestore
    collection = firestore.collection(get_settings().store.idempotency_collection)
    documents = list(collection.stream())
    assert [d.id for d in documents] == [hashlib.sha256(f"{TARGET}:{key}".encode()).hexdigest()]
    fields = documents[0].to_dict() or {}
    assert fields["target"] == TARGET
    assert fields["key"] == key
    assert fields["status"] == "completed"
    assert fields["payload_hash"] == HASH_A
    assert fields["response_status"] == 200
    assert fields["response_body"] == '{"status": "accepted"}'
    assert fields["response_content_type"] == "application/json"
    # Timestamps, not strings or numbers: a TTL policy only acts on a Timestamp field.
    assert isinstance(fields["expire_at"], DatetimeWithNanoseconds)
    assert isinstance(fields["lease_expires_at"], DatetimeWithNanoseconds)
    assert fields["expire_at"] == T0 + timedelta(seconds=TTL)
    assert fields["lease_expires_at"] == T0 + timedelta(seconds=LEASE)
