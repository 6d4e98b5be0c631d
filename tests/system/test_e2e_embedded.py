"""The delivery path end to end on the embedded backends (no emulators, runs everywhere):
SQLite idempotency store and documents, and the SQLite outbox drained by a worker thread.

    signed POST -> github_webhook -> SQLite claim -> outbox row -> 200
    worker thread -> process_delivery -> processors (each once) -> row deleted / dead
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import flask
import pytest
from werkzeug.test import TestResponse

from functions.processors import registry
from shared import Delivery, Runtime, current_runtime, get_settings, reload_settings
from shared.backends.handoff import _local, _local_worker
from shared.processors.deploy_staging import DeploySettings
from shared.processors.store import EventsSettings
from tests.support.pubsub_util import ROOT, SECRET, github_headers, make_app, push_body, wait_for

WORKER_THREAD = "runrun-local-queue"


class Runs:
    """A processor registered for one test that records each run (and may fail)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.lock = threading.Lock()
        self.seen: list[tuple[str, str]] = []

    def __call__(self, delivery: Delivery, runtime: Runtime) -> None:
        with self.lock:
            self.seen.append((delivery.delivery_id, threading.current_thread().name))
        if self.fail:
            raise RuntimeError("this processor always fails")

    def ids(self) -> list[str]:
        with self.lock:
            return [delivery_id for delivery_id, _ in self.seen]


@pytest.fixture
def embedded(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("RUNRUN_TOPIC", "deliveries")
    monkeypatch.setenv("RUNRUN_COMMAND_TOPIC", "commands")
    monkeypatch.setenv("RUNRUN_DEPLOY_VIA", "topic")  # deploy commands on the command topic
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    reload_settings()
    return isolated_env


def register(monkeypatch: pytest.MonkeyPatch, runs: Runs) -> Runs:
    # Registered on a copy of the registry's list, which the test restores afterwards.
    monkeypatch.setattr(registry, "_registrations", list(registry._registrations))
    registry.register(name="counting-test-processor")(runs)
    return runs


@pytest.fixture
def github(embedded: Path, monkeypatch: pytest.MonkeyPatch) -> flask.Flask:
    return make_app("github_webhook", monkeypatch)


def deliver(app: flask.Flask, body: bytes, delivery_id: str) -> TestResponse:
    return app.test_client().post("/", data=body, headers=github_headers(body, delivery_id))


def outbox(state: Path) -> list[tuple[str, str, int]]:
    """(topic, status, attempts) of every row in the embedded queue's outbox."""
    path = state / "queue.sqlite3"
    if not path.exists():
        return []
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT topic, status, attempts FROM outbox ORDER BY id").fetchall()
    finally:
        conn.close()
    return [(str(t), str(s), int(a)) for t, s, a in rows]


def drained(state: Path) -> bool:
    return not [row for row in outbox(state) if row[0] == get_settings().queue.topic]


def test_delivery_is_processed_by_the_worker_once(
    github: flask.Flask, embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = register(monkeypatch, Runs())
    settings = get_settings()
    delivery_id = str(uuid.uuid4())
    body = push_body(ref="refs/heads/main", after="f" * 40)

    first = deliver(github, body, delivery_id)
    assert first.status_code == 200, first.get_data(as_text=True)
    stored = wait_for(
        lambda: (
            current_runtime()
            .documents(EventsSettings.from_env(settings).collection)
            .get(delivery_id)
        ),
        "the worker to store the delivery",
    )
    assert stored["payload"] == json.loads(body)
    assert stored["source"] == "github_webhook"
    wait_for(lambda: drained(embedded), "the outbox to drain")

    # A duplicate HTTP delivery is replayed and not queued again...
    duplicate = deliver(github, body, delivery_id)
    assert duplicate.status_code == 200
    assert duplicate.headers["Idempotent-Replayed"] == "true"
    assert duplicate.get_data() == first.get_data()
    # ...and the same message queued twice (at-least-once) runs no processor again.
    message = Delivery(
        source="github_webhook",
        delivery_id=delivery_id,
        event_type="push",
        content_type="application/json",
        received_at="2030-01-01T00:00:00.000Z",
        data=body,
    )
    current_runtime().publisher.publish(settings.queue.topic, body, message.attributes())
    wait_for(lambda: drained(embedded), "the redelivered message to be consumed")

    # 2 HTTP deliveries + 1 queued duplicate: 1 processor run, on the worker thread, and
    # exactly one deploy command waiting on the command topic.
    assert runs.seen == [(delivery_id, WORKER_THREAD)]
    assert outbox(embedded) == [(DeploySettings.from_env(settings).command_topic, "pending", 0)]


def test_always_failing_processor_is_dead_lettered(
    github: flask.Flask, embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_QUEUE_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("RUNRUN_QUEUE_MIN_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("RUNRUN_QUEUE_MAX_BACKOFF_SECONDS", "0.01")
    reload_settings()
    runs = register(monkeypatch, Runs(fail=True))
    delivery_id = str(uuid.uuid4())

    assert deliver(github, push_body(ref="refs/heads/topic"), delivery_id).status_code == 200
    rows = wait_for(
        lambda: [r for r in outbox(embedded) if r[1] == "dead"],
        "the message to be dead-lettered",
    )

    assert rows == [(get_settings().queue.topic, "dead", 3)]
    # Each failure released the processor's claim, so every attempt really ran it.
    assert runs.ids() == [delivery_id] * 3
    stored = (
        current_runtime()
        .documents(EventsSettings.from_env(get_settings()).collection)
        .get(delivery_id)
    )
    assert stored is not None, "the processors that succeeded stay done"


PREVIOUS_PROCESS = """
from shared import Delivery, Runtime, get_settings
body = {body!r}
delivery = Delivery("github_webhook", {delivery_id!r}, "push", "application/json",
                    "2030-01-01T00:00:00.000Z", body)
runtime = Runtime(get_settings(), run_queue_worker=False)
runtime.publisher.publish(get_settings().queue.topic, body, delivery.attributes())
"""


def test_outbox_left_by_a_previous_process_is_drained_on_start(
    embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = register(monkeypatch, Runs())
    delivery_id = str(uuid.uuid4())
    body = push_body(ref="refs/heads/topic")
    env = {
        "PATH": os.environ["PATH"],
        "RUNRUN_STATE_DIR": str(embedded),
        "RUNRUN_STORE": "sqlite",
        "RUNRUN_QUEUE": "local",
        "RUNRUN_TOPIC": get_settings().queue.topic,
    }
    # A process that queued a delivery and exited before any worker ran it.
    subprocess.run(
        [sys.executable, "-c", PREVIOUS_PROCESS.format(body=body, delivery_id=delivery_id)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    assert outbox(embedded) == [(get_settings().queue.topic, "pending", 0)]

    # This process starts serving: its first request (any request) starts the worker.
    app = make_app("github_webhook", monkeypatch)
    assert app.test_client().get("/").status_code == 405
    wait_for(lambda: drained(embedded), "the leftover message to be drained")

    assert runs.seen == [(delivery_id, WORKER_THREAD)]
    stored = (
        current_runtime()
        .documents(EventsSettings.from_env(get_settings()).collection)
        .get(delivery_id)
    )
    assert stored is not None and stored["payload"] == json.loads(body)


def test_a_store_outage_is_waited_out_never_dead_lettered(tmp_path: Path) -> None:
    """Processing needs its claim: while the store is down every attempt fails, and the local
    queue retries for as long as it takes, without counting those attempts (Pub/Sub's
    redelivery does the same on Cloud Run)."""
    from shared import BackendUnavailable

    queue = _local.LocalQueue(tmp_path / "queue.sqlite3", max_attempts=2, backoff=lambda n: 0.01)
    outage = threading.Semaphore(0)
    consumed: list[str] = []
    failures = 5  # more than max_attempts

    def consume(event: object) -> None:
        if len(consumed) < failures:
            consumed.append("store down")
            raise BackendUnavailable("idempotency store failed to create", retry_after=1)
        consumed.append("ran")
        outage.release()

    delivery = Delivery("github_webhook", "outage-1", "push", "application/json", "", b"{}")
    queue.publish("deliveries", b"{}", delivery.attributes())
    worker = _local_worker.LocalWorker(queue, "deliveries", consume)
    worker.start()
    try:
        assert outage.acquire(timeout=30), consumed
    finally:
        worker.stop()
        queue.close()
    assert consumed == ["store down"] * failures + ["ran"]
    assert queue.counts().get("dead", 0) == 0
