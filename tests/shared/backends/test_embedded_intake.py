"""On the embedded backends a delivery is one transaction: claim, message and completion are
written together, concurrent deliveries share a commit, a failing delivery rolls back its own
writes alone, and the local worker leases and deletes messages in batches.

A batch is held back by another connection holding the file's write lock (as another process
would) until the other deliveries have queued behind it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import flask
import functions_framework
import pytest

from shared import BackendUnavailable, Runtime, deadline_scope, install_runtime, reload_settings
from shared.backends._intake import Accepted, EmbeddedIntake, Intake
from shared.backends.handoff import LocalQueue, LocalWorker
from shared.backends.handoff._outbox import WORKER_BATCH
from shared.backends.idempotency import Idempotency, IdempotencyRecord, Replay, document_id
from shared.backends.idempotency._sqlite import SqliteStore
from tests.support.pubsub_util import wait_for

ROOT = Path(__file__).resolve().parents[3]
SECRET = "intake-secret-4242"
TARGET = "generic_webhook"


@pytest.fixture(scope="module")
def app() -> flask.Flask:
    return functions_framework.create_app(TARGET, source=str(ROOT / "main.py"))


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Runtime:
    """The default embedded backends, with no worker: the outbox keeps what was published."""
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS", "30")  # a held batch waits, however loaded
    return install_runtime(Runtime(reload_settings(), run_queue_worker=False))


def deliver(app: flask.Flask, key: str, **fields: Any) -> flask.Response:
    body = json.dumps({"id": key, "type": "thing.happened", **fields})
    headers = {"Secret": SECRET}
    return app.test_client().post("/", data=body, content_type="application/json", headers=headers)


def queue_of(runtime: Runtime) -> LocalQueue:
    queue = runtime.publisher
    assert isinstance(queue, LocalQueue)
    return queue


def outbox_keys(queue: LocalQueue) -> list[str]:
    return sorted(message.attributes["delivery_id"] for message in queue.messages())


def test_one_transaction_per_delivery(app: flask.Flask, runtime: Runtime) -> None:
    for n in range(5):
        assert deliver(app, f"d{n}").status_code == 200
    intake = runtime.intake_for(TARGET)
    assert intake is not None
    assert intake.stats()["batches"] == 5 and intake.stats()["items"] == 5
    store = runtime.idempotency.store
    assert isinstance(store, SqliteStore) and store.path == queue_of(runtime).path
    assert store.stats()["batches"] == 0, "no separate claim or completion was written"
    assert queue_of(runtime)._commits.stats()["batches"] == 0, "no separate publish"
    assert outbox_keys(queue_of(runtime)) == [f"d{n}" for n in range(5)]
    for n in range(5):
        found = store.get(document_id(TARGET, f"d{n}"))
        assert found is not None and found[0].status == "completed"
        assert found[0].response_status == 200
    replayed = deliver(app, "d0")
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert deliver(app, "d0", extra=1).status_code == 422
    assert intake.stats()["batches"] == 7 and len(queue_of(runtime).messages()) == 5


@pytest.fixture
def intake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EmbeddedIntake]:
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS", "30")
    reload_settings()
    path = tmp_path / "one.sqlite3"
    queue, store = LocalQueue(path), SqliteStore(path)
    yield EmbeddedIntake(Idempotency(store, lease_seconds=60, ttl_seconds=3600), store, queue)
    store.close()


def item(key: str, data: bytes = b"{}") -> Intake:
    return Intake(
        target="t",
        key=key,
        payload_hash="h",
        token="tok",
        lease_until=datetime.now(UTC) + timedelta(seconds=30),
        topic="topic",
        data=data,
        attributes={"source": "t", "delivery_id": key},
        answer=(200, '{"ok":true}', "application/json"),
    )


def take_all(
    intake: EmbeddedIntake, items: list[Intake]
) -> tuple[list[threading.Thread], list[tuple[str, Any]]]:
    outcomes: list[tuple[str, Any]] = []

    def run(entry: Intake) -> None:
        with deadline_scope(30):
            outcomes.append((entry.key, intake.take(entry)))

    threads = [threading.Thread(target=run, args=(entry,)) for entry in items]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_concurrent_deliveries_share_one_commit(intake: EmbeddedIntake) -> None:
    blocker = sqlite3.connect(intake.queue.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process writing: the first batch waits
    leader, first = take_all(intake, [item("leader")])
    wait_for(lambda: intake.stats()["batches"] == 1, "the leader's batch taken")
    keys = [f"k{n}" for n in range(8)] + ["k0"]  # a duplicate in the same batch replays
    followers, outcomes = take_all(intake, [item(key) for key in keys])
    wait_for(lambda: len(intake._batcher._queued) == len(keys), "the others queued")
    blocker.execute("ROLLBACK")
    for thread in leader + followers:
        thread.join()
    assert isinstance(first[0][1], Accepted)
    assert intake.stats() == {"batches": 2, "items": 10, "largest": 9, "mean": 5.0}
    kinds = sorted(type(outcome).__name__ for _, outcome in outcomes)
    assert kinds == ["Accepted"] * 8 + ["Replay"]  # the second k0 sees the first's record
    assert len(intake.queue.messages()) == 9, "the duplicate k0 wrote no second message"


def test_a_failing_delivery_rolls_back_its_own_writes_only(intake: EmbeddedIntake) -> None:
    with deadline_scope(30), intake.queue.durable_writer() as conn:
        conn.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON outbox WHEN NEW.data = x'706f69736f6e' "
            "BEGIN SELECT RAISE(ABORT, 'poisoned message'); END"
        )
    with deadline_scope(30):
        outcomes = intake._send([item("a"), item("bad", b"poison"), item("c")], 30)
    assert isinstance(outcomes[0], Accepted) and isinstance(outcomes[2], Accepted)
    assert isinstance(outcomes[1], BackendUnavailable) and "poisoned" in outcomes[1].message
    assert intake.store.get(document_id("t", "bad")) is None, "its claim was rolled back"
    assert sorted(m.attributes["delivery_id"] for m in intake.queue.messages()) == ["a", "c"]
    for key in ("a", "c"):
        found = intake.store.get(document_id("t", key))
        assert found is not None and found[0].status == "completed"
    with deadline_scope(30):
        assert intake.take(item("bad", b"poison")) is None  # the general path takes over
        assert isinstance(intake.take(item("a")), Replay)


def test_a_key_held_by_another_attempt_is_left_to_the_general_path(
    intake: EmbeddedIntake,
) -> None:
    with deadline_scope(30):
        claim = intake.idempotency.claim("t", "held", "h")
        assert not isinstance(claim, Replay)
        assert intake.take(item("held")) is None
    assert intake.queue.messages() == []


def test_the_worker_leases_and_completes_in_batches(tmp_path: Path) -> None:
    leases: list[int] = []
    deletes: list[int] = []

    class Recording(LocalQueue):
        def lease_batch(self, topic: str, limit: int) -> Any:
            found = super().lease_batch(topic, limit)
            if isinstance(found, list) and found:
                leases.append(len(found))
            return found

        def succeeded_all(self, messages: Any) -> None:
            super().succeeded_all(messages)
            if messages:
                deletes.append(len(messages))

    queue = Recording(tmp_path / "queue.sqlite3")
    total = 40
    with deadline_scope(30):
        for n in range(total):
            queue.publish("t", b"{}", {"source": "s", "delivery_id": str(n)})
    runs: list[str] = []
    worker = LocalWorker(queue, "t", lambda event: runs.append(event["id"]))
    with queue.changed:
        worker.start()
        assert queue.changed.wait_for(lambda: queue.counts() == {}, timeout=120)
    worker.stop()
    assert len(runs) == total == len(set(runs)) == sum(deletes) == sum(leases)
    assert leases[0] == WORKER_BATCH
    assert len(deletes) < total, "deletions share transactions"


def test_exactly_once_under_a_concurrent_duplicate_storm(
    app: flask.Flask, runtime: Runtime
) -> None:
    keys = [f"storm-{n}" for n in range(4)]
    sends = [key for key in keys for _ in range(6)]
    start = threading.Barrier(len(sends))
    answers: list[tuple[str, int, bool]] = []

    def send(key: str) -> None:
        start.wait()
        response = deliver(app, key)
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        answers.append((key, response.status_code, replayed))

    threads = [threading.Thread(target=send, args=(key,)) for key in sends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for _, status, _ in answers) == [200] * len(sends)
    for key in keys:
        first = [replayed for sent, _, replayed in answers if sent == key]
        assert first.count(False) == 1, f"{key} accepted exactly once"
    assert outbox_keys(queue_of(runtime)) == keys, "one message per key"


def test_records_of_an_older_state_dir_move_into_the_queue_file(
    app: flask.Flask, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = SqliteStore(isolated_env / "idempotency.sqlite3")
    answer = '{"status": "accepted", "delivery_id": "old-1"}'
    now = datetime.now(UTC)
    body = json.dumps({"id": "old-1", "type": "thing.happened"}).encode()
    with deadline_scope(30):
        old.create(
            IdempotencyRecord(
                target=TARGET,
                key="old-1",
                status="completed",
                payload_hash=hashlib.sha256(body).hexdigest(),
                lease_expires_at=now,
                expire_at=now + timedelta(hours=1),
                response_status=200,
                response_body=answer,
                response_content_type="application/json",
            )
        )
    old.close()
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    runtime = install_runtime(Runtime(reload_settings(), run_queue_worker=False))
    response = app.test_client().post(
        "/", data=body, content_type="application/json", headers={"Secret": SECRET}
    )
    assert response.headers.get("Idempotent-Replayed") == "true"
    assert response.get_data(as_text=True) == answer
    assert queue_of(runtime).messages() == []
    # A second start does not copy again (a record released since must stay released).
    store = runtime.idempotency.store
    assert isinstance(store, SqliteStore)
    found = store.get(document_id(TARGET, "old-1"))
    assert found is not None
    with deadline_scope(30):
        assert store.delete(document_id(TARGET, "old-1"), found[1])
    again = SqliteStore(store.path, legacy=isolated_env / "idempotency.sqlite3")
    assert again.get(document_id(TARGET, "old-1")) is None
    again.close()


def test_an_unreadable_older_file_is_named(tmp_path: Path) -> None:
    legacy = tmp_path / "idempotency.sqlite3"
    legacy.write_bytes(b"not a database at all, " * 100)
    with pytest.raises(BackendUnavailable, match="idempotency records of .*idempotency.sqlite3"):
        SqliteStore(tmp_path / "queue.sqlite3", legacy=legacy)
