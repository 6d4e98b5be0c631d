"""The inspector behind `/_runrun/inspect`: what is recorded (and what never is), when it is
on, its token, and the whole loop in process: deliver, see it, dead-letter, replay."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from functions.processors import registry
from runrun import build_app, discover
from runrun._dispatch import TargetDispatcher
from shared import (
    Delivery,
    DeliveryReport,
    RunReport,
    Runtime,
    current_runtime,
    reload_settings,
    stop_runtime,
)
from shared.backends.handoff import LocalQueue
from shared.devtools._activity import ActivityRecorder
from shared.devtools._inspect import COOKIE, Inspector, make_inspector
from shared.serving import ServingHooks
from tests.support.pubsub_util import SECRET, github_headers, push_body
from tests.support.runrun_scenarios import corpus

STATE = "/_runrun/inspect/api/state"
REPLAY = "/_runrun/inspect/api/replay"
SAFETY_NET = 300.0  # only against a hang: every wait below is on the event itself


def worker_started() -> Runtime:
    """What a runrun worker runs before its first request: the bundle's hook."""
    ServingHooks(package="functions").worker_started()
    return current_runtime()


@pytest.fixture
def embedded(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A runrun worker in dev mode on the embedded backends, started as the server starts it."""
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("RUNRUN_DEV", "1")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    reload_settings()
    worker_started()
    yield isolated_env
    stop_runtime()


def _client() -> Client:
    return Client(build_app(discover(corpus.MAIN_SOURCE)))


# --- on or off ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "enabled"),
    [
        ({"RUNRUN_DEV": "1"}, True),
        ({"RUNRUN_DEV": "1", "RUNRUN_INSPECT": "0"}, False),
        ({}, False),  # not dev mode: never without a token
        ({"RUNRUN_INSPECT": "1"}, False),
        ({"RUNRUN_INSPECT": "true", "RUNRUN_INSPECT_TOKEN": "t0ken"}, True),
        ({"K_SERVICE": "svc"}, False),
        ({"K_SERVICE": "svc", "RUNRUN_INSPECT": "1"}, False),  # no token: stays off
        ({"K_SERVICE": "svc", "RUNRUN_INSPECT": "1", "RUNRUN_INSPECT_TOKEN": "t0ken"}, True),
    ],
)
def test_on_in_dev_mode_elsewhere_only_enabled_with_a_token(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], enabled: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = reload_settings()
    assert settings.dev.inspector_enabled is enabled
    assert (make_inspector((), settings.dev) is not None) is enabled


def test_disabled_it_is_the_404_of_any_unknown_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K_SERVICE", "svc")
    reload_settings()
    client = _client()
    for path in ("/_runrun/inspect", STATE):
        answer = client.get(path)
        assert answer.status_code == 404
        assert "targets" in answer.get_json()


def test_disabled_nothing_is_recorded(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNRUN_DEV", "1")
    monkeypatch.setenv("RUNRUN_INSPECT", "0")
    reload_settings()
    runtime = worker_started()
    assert runtime.observers.find(ActivityRecorder) is None
    assert not (isolated_env / "activity.sqlite3").exists()


def test_the_recorder_is_an_observer_the_runtime_reports_to(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_DEV", "1")
    reload_settings()
    runtime = worker_started()
    recorder = runtime.observers.find(ActivityRecorder)
    assert recorder is not None
    runtime.observers.delivery(DeliveryReport("t", {"outcome": "accepted", "delivery_id": "d"}))
    runtime.observers.run(RunReport("t", "d", "e", "p", "ran"))
    assert [d["delivery_id"] for d in recorder.recent_deliveries()] == ["d"]
    assert [r["outcome"] for r in recorder.recent_runs()] == ["ran"]


def test_a_processors_note_is_recorded_and_shown(embedded: Path) -> None:
    # What deploy-staging returns (its build id) reaches the page through the observers.
    runtime = worker_started()
    runtime.observers.run(
        RunReport("github_webhook", "d-7", "push", "deploy-staging", "ran", note="build 0f3c6a")
    )
    client = _client()
    runs = json.loads(client.get(STATE).get_data(as_text=True))["runs"]
    assert [(r["processor"], r["note"]) for r in runs] == [("deploy-staging", "build 0f3c6a")]
    assert "r.note" in client.get("/_runrun/inspect").get_data(as_text=True)


def test_an_activity_file_from_before_notes_gets_the_column(isolated_env: Path) -> None:
    path = isolated_env / "old-activity.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(path)
    old.execute(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL,"
        " source TEXT NOT NULL, delivery_id TEXT NOT NULL, event_type TEXT,"
        " processor TEXT NOT NULL, outcome TEXT NOT NULL, error TEXT, latency_ms REAL)"
    )
    old.close()
    recorder = ActivityRecorder(path)
    recorder.run(RunReport("t", "d", "e", "p", "ran", note="build 1"))
    assert [r["note"] for r in recorder.recent_runs()] == ["build 1"]
    recorder.close()


# --- the token ------------------------------------------------------------------------------


def test_token_is_required_as_bearer_or_cookie() -> None:
    app = TargetDispatcher((), {}, {"inspect": Inspector((), "s3cret-token")})
    client = Client(app)
    refused = client.get(STATE)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(STATE, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get(STATE, headers={"Authorization": "Bearer s3cret-token"}).status_code == 200
    assert client.get("/_runrun/inspect?token=nope").status_code == 401
    login = client.get("/_runrun/inspect?token=s3cret-token")
    assert login.status_code == 303
    assert login.headers["Location"] == "/_runrun/inspect"
    assert "HttpOnly" in login.headers["Set-Cookie"]
    assert client.get(STATE).status_code == 200  # the cookie now
    other = Client(app)
    other.set_cookie(COOKIE, "wrong")
    assert other.get("/_runrun/inspect").status_code == 401


def test_replay_needs_the_custom_header_and_a_dead_message(embedded: Path) -> None:
    client = _client()
    body = json.dumps({"message_id": "nope"})
    assert client.post(REPLAY, data=body).status_code == 403
    headers = {"X-Runrun-Inspect": "1"}
    assert client.post(REPLAY, data="{", headers=headers).status_code == 400
    assert client.post(REPLAY, data=body, headers=headers).status_code == 404
    assert client.get(REPLAY).status_code == 405


# --- recording --------------------------------------------------------------------------------


def test_recording_never_fails_and_stays_bounded(isolated_env: Path) -> None:
    recorder = ActivityRecorder(isolated_env / "activity.sqlite3", keep=10)
    for n in range(120):
        recorder.delivery(DeliveryReport("t", {"outcome": "accepted", "delivery_id": f"d{n}"}))
        if n % 30 == 0:
            recorder.flush()
    rows = recorder.recent_deliveries()
    assert rows[0]["delivery_id"] == "d119"
    assert len(rows) == 10
    recorder.close()
    # An unusable state dir costs the record, never the caller.
    blocked = isolated_env.parent / "a-file"
    blocked.write_text("")
    broken = ActivityRecorder(blocked / "state" / "activity.sqlite3")
    broken.delivery(DeliveryReport("t", {"outcome": "accepted"}))
    broken.run(RunReport("t", "d", "e", "p", "failed", "RuntimeError"))
    broken.close()
    assert broken.recent_runs() == []


def test_the_page_and_its_api_show_no_secret_or_signature(embedded: Path) -> None:
    client = _client()
    body = push_body()
    headers = github_headers(body, "delivery-with-" + SECRET)  # even an id carrying the secret
    assert client.post("/github_webhook", data=body, headers=headers).status_code == 200
    signature = headers["X-Hub-Signature-256"]
    client.post("/github_webhook", data=body, headers={**headers, "X-GitHub-Delivery": "x2"})
    text = client.get(STATE).get_data(as_text=True)
    page = client.get("/_runrun/inspect").get_data(as_text=True)
    for shown in (text, page):
        assert SECRET not in shown
        assert signature.split("=")[1] not in shown
    assert "delivery-with-[hidden]" in text
    stored = sqlite3.connect(embedded / "activity.sqlite3").execute("SELECT * FROM deliveries")
    assert signature.split("=")[1] not in json.dumps(stored.fetchall())


# --- the whole loop, in process -----------------------------------------------------------------


def test_deliver_see_it_dead_letter_then_replay(
    embedded: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_QUEUE_MAX_ATTEMPTS", "2")
    reload_settings()
    runtime = worker_started()  # again, with two attempts
    queue = runtime.publisher
    assert isinstance(queue, LocalQueue)
    queue.backoff = lambda attempts: 0.0  # retried at once: the test waits on the queue itself
    failing = {"on": True}

    def flaky(delivery: Delivery, runtime: Runtime) -> None:
        if failing["on"]:
            raise RuntimeError("flaky is down")

    monkeypatch.setattr(registry, "_registrations", list(registry._registrations))
    registry.register(name="flaky")(flaky)
    client = _client()
    delivery_id = str(uuid.uuid4())
    body = push_body(ref="refs/heads/topic")
    answer = client.post("/github_webhook", data=body, headers=github_headers(body, delivery_id))
    assert answer.status_code == 200

    def state() -> Any:
        got = client.get(STATE)
        assert got.status_code == 200
        return got.get_json()

    def dead() -> list[Any]:
        messages = state()["queue"]["messages"]
        return [m for m in messages if m["state"] == "dead-lettered"]

    with queue.changed:  # notified whenever the queue is done with a message
        assert queue.changed.wait_for(dead, timeout=SAFETY_NET)
    [message] = dead()
    seen = state()
    [delivery] = [d for d in seen["deliveries"] if d["delivery_id"] == delivery_id]
    assert (delivery["outcome"], delivery["status"], delivery["event_type"]) == (
        "accepted",
        200,
        "push",
    )
    runs = [r for r in seen["runs"] if r["processor"] == "flaky"]
    assert [r["outcome"] for r in runs] == ["failed", "failed"]
    assert {r["error"] for r in runs} == {"RuntimeError"}
    assert message["delivery_id"] == delivery_id and message["attempts"] == 2
    records = seen["records"]
    assert any(r["key"] == delivery_id and r["status"] == "completed" for r in records)

    failing["on"] = False
    replay = client.post(
        REPLAY,
        data=json.dumps({"message_id": message["message_id"]}),
        headers={"X-Runrun-Inspect": "1", "Content-Type": "application/json"},
    )
    assert replay.status_code == 200

    def flaky_ran() -> bool:
        current = state()
        ran = [r for r in current["runs"] if r["processor"] == "flaky" and r["outcome"] == "ran"]
        return bool(ran) and not current["queue"]["messages"]

    with queue.changed:
        assert queue.changed.wait_for(flaky_ran, timeout=SAFETY_NET)
    outcomes = {(r["processor"], r["outcome"]) for r in state()["runs"]}
    assert ("store", "skipped") in outcomes  # what had succeeded is not run again


def test_dev_secrets_are_printed_by_the_start_that_generates_them_only(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.devtools._devsecrets import prepare_secrets
    from shared.devtools._targets import described_targets

    monkeypatch.setenv("RUNRUN_DEV", "1")
    settings = reload_settings()
    discover(corpus.MAIN_SOURCE)  # the functions package imported, as at a start
    described = described_targets("functions", {"github_webhook", "stripe_webhook"})
    assert [p.target for p in described] == ["github_webhook", "stripe_webhook"]
    prepare_secrets(described, settings.dev)
    first = capsys.readouterr().err
    assert "generated secrets" in first and "GITHUB_WEBHOOK_SECRET=whsec_" in first
    prepare_secrets(described, settings.dev)
    again = capsys.readouterr().err
    assert again == f"runrun: dev mode: 2 unset secrets taken from {settings.dev.secrets_path}\n"
