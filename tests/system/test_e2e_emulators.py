"""The delivery path end to end, through functions-framework, against the real emulators.

    signed POST -> github_webhook -> Firestore claim -> Pub/Sub publish -> 200
    pulled message -> push envelope -> process_delivery -> relay / store / deploy command

Each test counts what it sent (deliveries), what reached the topics (publishes) and what was
answered as a duplicate, and asserts those counts; no assertion depends on timing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import flask
import pytest
import requests

from functions.processors import registry
from shared import Delivery, Runtime, current_runtime, get_settings, reload_settings, stop_runtime
from shared.backends.idempotency import document_id
from shared.processors.deploy_staging import DeploySettings
from shared.processors.store import EventsSettings
from tests.support.emulators import Emulators, free_port
from tests.support.pubsub_util import (
    ROOT,
    SECRET,
    PubSub,
    github_headers,
    make_app,
    push_body,
    push_envelope,
    relay_server,
    silent_server,
    wait_for,
    warm_up,
)

pytestmark = pytest.mark.emulators

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
ATTRIBUTES = {"source", "delivery_id", "event_type", "content_type", "received_at"}


def forget_clients() -> None:
    """Rebuild settings, store and queue clients (the whole runtime) from the current
    environment, as a new instance would."""
    stop_runtime()
    reload_settings()


@pytest.fixture
def emu(on_emulators: Emulators, monkeypatch: pytest.MonkeyPatch) -> Emulators:
    warm_up(on_emulators)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("RUNRUN_STORE", "firestore")
    monkeypatch.setenv("RUNRUN_QUEUE", "pubsub")
    monkeypatch.setenv("RUNRUN_DEPLOY_VIA", "topic")  # deploy commands on the command topic
    forget_clients()
    return on_emulators


@pytest.fixture
def pubsub(emu: Emulators) -> Iterator[PubSub]:
    client = PubSub()
    yield client
    client.close()


@pytest.fixture
def github(emu: Emulators, monkeypatch: pytest.MonkeyPatch) -> flask.Flask:
    return make_app("github_webhook", monkeypatch)


@pytest.fixture
def process(emu: Emulators, monkeypatch: pytest.MonkeyPatch) -> flask.Flask:
    return make_app("process_delivery", monkeypatch)


def deliver(app: flask.Flask, body: bytes, delivery_id: str, event: str = "push") -> Any:
    return app.test_client().post("/", data=body, headers=github_headers(body, delivery_id, event))


def documents(collection: str) -> dict[str, dict[str, Any]]:
    """Every document of a Firestore collection on the emulator, by id."""
    stream = current_runtime().firestore.collection(collection).stream()
    return {snapshot.id: snapshot.to_dict() or {} for snapshot in stream}


def redeliver(process: flask.Flask, envelope: dict[str, Any]) -> int:
    """POST one push envelope to process_delivery, as a Pub/Sub push subscription does."""
    return int(process.test_client().post("/", json=envelope).status_code)


def test_signed_delivery_publishes_the_raw_body_once(github: flask.Flask, pubsub: PubSub) -> None:
    subscription = pubsub.subscribe(get_settings().queue.topic)
    delivery_id = str(uuid.uuid4())
    # Not re-serialized anywhere: the exact bytes GitHub signed must reach the processor.
    body = b'{"zen": "Keep it logically awesome.",  "ref": "refs/heads/x", "hook_id": 1}'

    response = deliver(github, body, delivery_id)

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"status": "accepted", "delivery_id": delivery_id}
    messages = pubsub.pull(subscription, expected=1)
    assert len(messages) == 1
    message = messages[0].message
    assert message.data == body
    attributes = dict(message.attributes)
    assert set(attributes) == ATTRIBUTES
    assert attributes["source"] == "github_webhook"
    assert attributes["delivery_id"] == delivery_id
    assert attributes["event_type"] == "push"
    assert attributes["content_type"] == "application/json"
    assert RFC3339.match(attributes["received_at"]), attributes["received_at"]
    assert datetime.fromisoformat(attributes["received_at"]).tzinfo is not None


def test_duplicates_replay_and_mismatches_are_422(github: flask.Flask, pubsub: PubSub) -> None:
    subscription = pubsub.subscribe(get_settings().queue.topic)
    delivery_id = str(uuid.uuid4())
    body = push_body()

    first = deliver(github, body, delivery_id)
    duplicate = deliver(github, body, delivery_id)
    different = push_body(after="deadbeef")
    mismatch = deliver(github, different, delivery_id)

    assert first.status_code == 200
    assert "Idempotent-Replayed" not in first.headers
    assert duplicate.status_code == first.status_code
    assert duplicate.get_data() == first.get_data()
    assert duplicate.headers["Content-Type"] == first.headers["Content-Type"]
    assert duplicate.headers["Idempotent-Replayed"] == "true"
    assert mismatch.status_code == 422
    # 3 deliveries, 1 duplicate, 1 mismatch: exactly 1 publish.
    assert len(pubsub.pull(subscription, expected=1)) == 1


def test_concurrent_duplicates_publish_once(github: flask.Flask, pubsub: PubSub) -> None:
    subscription = pubsub.subscribe(get_settings().queue.topic)
    delivery_id = str(uuid.uuid4())
    body = push_body()
    threads = 20
    barrier = threading.Barrier(threads)
    answers: list[tuple[int, bool]] = []
    retry_after: list[str | None] = []
    lock = threading.Lock()

    def send() -> None:
        client = github.test_client()
        headers = github_headers(body, delivery_id)
        barrier.wait()
        response = client.post("/", data=body, headers=headers)
        with lock:
            if response.status_code == 409:
                retry_after.append(response.headers.get("Retry-After"))
            answers.append(
                (response.status_code, response.headers.get("Idempotent-Replayed") == "true")
            )

    workers = [threading.Thread(target=send) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    tally = Counter(answers)
    assert len(answers) == threads
    assert tally[(200, False)] == 1, tally  # the one that published
    assert set(tally) <= {(200, False), (200, True), (409, False)}, tally
    assert all(value and int(value) >= 1 for value in retry_after), retry_after
    assert len(pubsub.pull(subscription, expected=1)) == 1


def test_redelivered_message_is_processed_once(
    github: flask.Flask, process: flask.Flask, pubsub: PubSub
) -> None:
    settings = get_settings()
    deliveries = pubsub.subscribe(settings.queue.topic)
    commands = pubsub.subscribe(DeploySettings.from_env(settings).command_topic)
    to_main, to_branch = str(uuid.uuid4()), str(uuid.uuid4())
    main_body = push_body(ref="refs/heads/main", after="a" * 40)
    branch_body = push_body(ref="refs/heads/feature", after="b" * 40)

    assert deliver(github, main_body, to_main).status_code == 200
    assert deliver(github, branch_body, to_branch).status_code == 200
    messages = {m.message.attributes["delivery_id"]: m for m in pubsub.pull(deliveries, 2)}
    assert set(messages) == {to_main, to_branch}

    # Pub/Sub delivers at least once: push every message twice.
    statuses = [
        redeliver(process, push_envelope(messages[delivery_id], deliveries))
        for delivery_id in (to_main, to_main, to_branch, to_branch)
    ]

    assert statuses == [200, 200, 200, 200]
    stored = documents(EventsSettings.from_env(settings).collection)
    assert set(stored) == {to_main, to_branch}
    assert stored[to_main]["payload"] == json.loads(main_body)
    assert stored[to_main]["source"] == "github_webhook"
    assert stored[to_main]["event_type"] == "push"
    # Only the push to the default branch asks for a deploy, and only once.
    published = pubsub.pull(commands, expected=1)
    assert len(published) == 1
    command = json.loads(published[0].message.data)
    assert command == {
        "command": "deploy",
        "environment": "staging",
        "repository": "octo/runrun",
        "ref": "refs/heads/main",
        "sha": "a" * 40,
        "delivery_id": to_main,
    }
    assert dict(published[0].message.attributes) == {
        "command": "deploy-staging",
        "delivery_id": to_main,
    }


def test_concurrent_pushes_of_one_message_process_it_once(
    github: flask.Flask, process: flask.Flask, pubsub: PubSub
) -> None:
    settings = get_settings()
    deliveries = pubsub.subscribe(settings.queue.topic)
    commands = pubsub.subscribe(DeploySettings.from_env(settings).command_topic)
    delivery_id = str(uuid.uuid4())
    assert deliver(github, push_body(), delivery_id).status_code == 200
    (message,) = pubsub.pull(deliveries, expected=1)
    envelope = push_envelope(message, deliveries)
    pushes = 5
    barrier = threading.Barrier(pushes)
    statuses: list[int] = []
    lock = threading.Lock()

    def push() -> None:
        client = process.test_client()
        barrier.wait()
        status = client.post("/", json=envelope).status_code
        with lock:
            statuses.append(status)

    workers = [threading.Thread(target=push) for _ in range(pushes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    # A push that met another one in progress answered 409 with Retry-After (Pub/Sub
    # retries any non-2xx): one retry after they all finished must find every processor done.
    retry = redeliver(process, envelope)

    assert len(statuses) == pushes
    assert set(statuses) <= {200, 409}, statuses
    assert retry == 200
    assert set(documents(EventsSettings.from_env(settings).collection)) == {delivery_id}
    assert len(pubsub.pull(commands, expected=1)) == 1


def test_relay_receives_each_delivery_once_and_retries_after_500(
    github: flask.Flask,
    pubsub: PubSub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()
    deliveries = pubsub.subscribe(settings.queue.topic)
    with relay_server() as (relay, url):
        monkeypatch.setenv("RUNRUN_RELAY_URL", url)
        reload_settings()
        process = make_app("process_delivery", monkeypatch)
        ok_id, failing_id = str(uuid.uuid4()), str(uuid.uuid4())
        ok_body, failing_body = push_body(after="1" * 40), push_body(after="2" * 40)
        assert deliver(github, ok_body, ok_id).status_code == 200
        assert deliver(github, failing_body, failing_id).status_code == 200
        messages = {m.message.attributes["delivery_id"]: m for m in pubsub.pull(deliveries, 2)}
        ok = push_envelope(messages[ok_id], deliveries)
        failing = push_envelope(messages[failing_id], deliveries)

        # A healthy relay target: two pushes of one message, one relayed request.
        assert [redeliver(process, ok), redeliver(process, ok)] == [200, 200]
        assert len(relay.requests) == 1
        headers, body = relay.requests[0]
        assert body == ok_body
        assert headers["idempotency-key"] == ok_id
        assert headers["x-runrun-source"] == "github_webhook"
        assert headers["x-runrun-event-type"] == "push"

        # The relay target fails: process_delivery must fail too, so Pub/Sub retries.
        relay.status = 500
        first_attempt = redeliver(process, failing)
        assert not 200 <= first_attempt < 300, first_attempt
        relay.status = 200
        retry = redeliver(process, failing)
        again = redeliver(process, failing)

        assert (retry, again) == (200, 200)
        relayed = [body for _, body in relay.answered(200)]
        assert relayed == [ok_body, failing_body], "each delivery relayed successfully once"
        assert [body for _, body in relay.answered(500)] == [failing_body]
        assert len(relay.requests) == 3
        assert set(documents(EventsSettings.from_env(settings).collection)) == {ok_id, failing_id}


@pytest.fixture(params=["refused", "silent"])
def broken_host(request: pytest.FixtureRequest) -> Iterator[str]:
    """A backend address that refuses connections, or one that accepts and never answers
    (then only the request's deadline ends the call)."""
    if request.param == "refused":
        yield f"127.0.0.1:{free_port()}"
    else:
        with silent_server() as host:
            yield host


def test_failing_queue_is_503_and_releases_the_claim(
    emu: Emulators,
    broken_host: str,
    github: flask.Flask,
    pubsub: PubSub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = get_settings()
    subscription = pubsub.subscribe(settings.queue.topic)
    delivery_id = str(uuid.uuid4())
    body = push_body()

    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", broken_host)
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK", "1")
    forget_clients()
    down = deliver(github, body, delivery_id)

    assert down.status_code == 503, down.get_data(as_text=True)
    assert int(down.headers["Retry-After"]) >= 1
    key_id = document_id("github_webhook", delivery_id)
    assert key_id not in documents(settings.store.idempotency_collection), "claim not released"

    # The queue is back (a fresh client, as a new instance would build): the provider's
    # retry of the same delivery is accepted, not refused as in progress.
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emu.pubsub_host)
    forget_clients()
    up = deliver(github, body, delivery_id)

    assert up.status_code == 200, up.get_data(as_text=True)
    assert "Idempotent-Replayed" not in up.headers
    # 2 deliveries, 1 publish.
    assert len(pubsub.pull(subscription, expected=1)) == 1
    assert documents(settings.store.idempotency_collection)[key_id]["status"] == "completed"


def test_failing_store_still_accepts_and_publishes(
    emu: Emulators,
    broken_host: str,
    github: flask.Flask,
    pubsub: PubSub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The queue is where a delivery becomes durable: a store that refuses or never answers
    costs the claim (a duplicate may then be published twice), never the delivery."""
    subscription = pubsub.subscribe(get_settings().queue.topic)
    delivery_id = str(uuid.uuid4())
    body = push_body()

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", broken_host)
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK", "1")
    forget_clients()
    down = deliver(github, body, delivery_id)

    assert down.status_code == 200, down.get_data(as_text=True)
    assert len(pubsub.pull(subscription, expected=1)) == 1

    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emu.firestore_host)
    forget_clients()
    again = deliver(github, body, delivery_id)  # nothing was recorded: published again
    assert again.status_code == 200
    replay = deliver(github, body, delivery_id)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert len(pubsub.pull(subscription, expected=1)) == 1


def test_failing_processor_is_released_and_rerun(
    github: flask.Flask,
    process: flask.Flask,
    pubsub: PubSub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runs: list[str] = []

    def flaky(delivery: Delivery, runtime: Runtime) -> None:
        runs.append(delivery.delivery_id)
        if len(runs) == 1:
            raise RuntimeError("the downstream service is down")

    # A registration of this test only: the registry is restored afterwards.
    monkeypatch.setattr(registry, "_registrations", list(registry._registrations))
    registry.register(name="flaky-test-processor")(flaky)

    settings = get_settings()
    deliveries = pubsub.subscribe(settings.queue.topic)
    delivery_id = str(uuid.uuid4())
    assert deliver(github, push_body(ref="refs/heads/topic"), delivery_id).status_code == 200
    (message,) = pubsub.pull(deliveries, expected=1)
    envelope = push_envelope(message, deliveries)

    failed = redeliver(process, envelope)
    assert not 200 <= failed < 300, failed
    assert redeliver(process, envelope) == 200
    assert redeliver(process, envelope) == 200

    assert runs == [delivery_id, delivery_id], "failed once, ran once more, then skipped"
    assert set(documents(EventsSettings.from_env(settings).collection)) == {delivery_id}


@pytest.fixture
def server(emu: Emulators, tmp_path: Path) -> Iterator[str]:
    """The URL of a real `functions-framework --target github_webhook` process, started
    with an explicit environment (nothing inherited but PATH) on a free port."""
    port = free_port()
    settings = get_settings()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "FIRESTORE_EMULATOR_HOST": emu.firestore_host,
        "PUBSUB_EMULATOR_HOST": emu.pubsub_host,
        "GOOGLE_CLOUD_PROJECT": "runrun-test",
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "RUNRUN_TOPIC": settings.queue.topic,
        "RUNRUN_IDEMPOTENCY_COLLECTION": settings.store.idempotency_collection,
        "RUNRUN_EVENTS_COLLECTION": EventsSettings.from_env(settings).collection,
        "RUNRUN_STATE_DIR": str(tmp_path / "server-state"),
    }
    command = [
        str(Path(sys.executable).parent / "functions-framework"),
        "--target=github_webhook",
        "--source=main.py",
        "--host=127.0.0.1",
        f"--port={port}",
    ]
    log_path = tmp_path / "functions-framework.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,  # gunicorn forks workers: a kill must reach them too
        )
    url = f"http://127.0.0.1:{port}/"

    def up() -> bool:
        if process.poll() is not None:
            pytest.fail(f"functions-framework exited: {log_path.read_text()}")
        try:
            requests.get(url, timeout=1)
        except requests.ConnectionError:
            return False
        return True

    try:
        wait_for(up, "functions-framework to listen", timeout=30)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def test_functions_framework_process(server: str, pubsub: PubSub) -> None:
    subscription = pubsub.subscribe(get_settings().queue.topic)
    url = server
    delivery_id = str(uuid.uuid4())
    body = push_body()
    headers = github_headers(body, delivery_id)

    first = requests.post(url, data=body, headers=headers, timeout=30)
    duplicate = requests.post(url, data=body, headers=headers, timeout=30)
    forged = requests.post(
        url,
        data=body,
        headers={**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64},
        timeout=30,
    )
    wrong_method = requests.get(url, timeout=30)

    assert first.status_code == 200, first.text
    assert first.json() == {"status": "accepted", "delivery_id": delivery_id}
    assert duplicate.status_code == 200
    assert duplicate.headers["Idempotent-Replayed"] == "true"
    assert duplicate.content == first.content
    assert forged.status_code == 401
    assert wrong_method.status_code == 405
    # 3 POSTs (1 delivery, 1 duplicate, 1 forgery) and a GET: 1 publish of the raw body.
    messages = pubsub.pull(subscription, expected=1)
    assert [m.message.data for m in messages] == [body]
    assert messages[0].message.attributes["delivery_id"] == delivery_id
