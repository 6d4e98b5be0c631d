"""What the catch-up tests share: the GitHub stand-in on a fake clock, the real receiving
target over a real store, the scenario of an outage, and a run of the command."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest

from shared import get_settings, reload_settings
from shared.catchup import main
from tests.support.github_auth import StandInAuth
from tests.support.github_standin import Attempt, FakeClock, GitHubStandIn, serve
from tests.support.helpers import rsa_key_pair
from tests.support.pubsub_util import SECRET, PubSub, github_headers, make_app, push_body, warm_up

HOOK = "/repos/octo/runrun/hooks/1"
APP_KEY, APP_PUBLIC = rsa_key_pair(pkcs1=True)
REPO_ARGS = ["github", "--repo", "octo/runrun", "--hook-id", "1", "--json"]


@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock(float(int(time.time())))  # whole seconds, as x-ratelimit-reset


@pytest.fixture(name="github")
def github_fixture(clock: FakeClock) -> Iterator[GitHubStandIn]:
    auth = StandInAuth(public_pem=APP_PUBLIC, installations={42: ("/repos/octo/runrun",)})
    stand_in = GitHubStandIn(clock, auth)
    stop = serve(stand_in)
    yield stand_in
    stop()


@pytest.fixture(
    name="receiver", params=["sqlite", pytest.param("firestore", marks=pytest.mark.emulators)]
)
def receiver_fixture(
    request: pytest.FixtureRequest, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[flask.Flask]:
    """The real `github_webhook` (functions-framework's app from main.py) over a real store."""
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("RUNRUN_DEPLOY_VIA", "topic")
    if request.param == "firestore":
        warm_up(request.getfixturevalue("on_emulators"))
        monkeypatch.setenv("RUNRUN_STORE", "firestore")
        monkeypatch.setenv("RUNRUN_QUEUE", "pubsub")
        pubsub = PubSub()
        reload_settings()
        try:
            pubsub.subscribe(get_settings().queue.topic)  # the topic must exist for the hand-off
            yield make_app("github_webhook", monkeypatch)
        finally:
            pubsub.close()
        return
    embedded_store(monkeypatch)
    yield make_app("github_webhook", monkeypatch)


def embedded_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """The embedded backends: the SQLite store beside the local queue."""
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("RUNRUN_TOPIC", "deliveries")
    monkeypatch.setenv("RUNRUN_COMMAND_TOPIC", "commands")
    reload_settings()


def send(app: flask.Flask, attempt: Attempt) -> int:
    """Deliver `attempt` to the target as GitHub does (signed, X-GitHub-Delivery = guid)."""
    headers = github_headers(attempt.body, attempt.guid, attempt.event)
    return app.test_client().post("/", data=attempt.body, headers=headers).status_code


def outage(github: GitHubStandIn, failed: int = 100, arrived: int = 150) -> list[Attempt]:
    """The hook's history: `failed` events whose only attempt failed, over the last two days,
    and `arrived` others, a fifth of them after a failed first attempt."""
    failures = []
    for n in range(failed):
        body = push_body(after=f"{n:040x}")
        status = (500, 502, 503, 504)[n % 4]
        failures.append(github.add(HOOK, str(uuid.uuid4()), status, 2 * 86400 - n * 600, body=body))
    for n in range(arrived):
        guid = str(uuid.uuid4())
        if n % 5 == 0:
            github.add(HOOK, guid, 502, 86400 + n)
            github.add(HOOK, guid, 200, 86000 + n, redelivery=True)
        else:
            github.add(HOOK, guid, 200, n * 300)
    return failures


def run(capsys: pytest.CaptureFixture[str], github: GitHubStandIn, *args: str, **env: str) -> Any:
    """Run the command; its JSON report (and the exit status as report["exit"])."""
    settings = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": github.auth.token, **env}
    code = main(list(args or REPO_ARGS), clock=github.clock, sleep=github.clock.sleep, env=settings)
    captured = capsys.readouterr()
    # The command's report is its one JSON line without a severity: the test's own receiver
    # and queue worker, in this process, log JSON lines to the same stdout.
    found = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")]
    reports = [line for line in found if "severity" not in line]
    report = reports[-1] if reports else {}
    return {**report, "exit": code, "stderr": captured.err}
