"""`catch-up github` against the GitHub stand-in, over a real store and the real target.

The scenario: a hook whose 100 events GitHub recorded as failed; 30 of them reached runrun
all the same (the real `github_webhook` accepted them into the real store: the embedded
SQLite one, and Firestore on its emulator); many more events arrived normally. Catch-up must
ask for exactly the other 70, and the stand-in then redelivers each one to the real target.
A second run asks for nothing. Every wait (pacing, rate limits) is observed through the
injected sleeper of a fake clock, never the wall clock.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import flask
import pytest

from shared.catchup import main
from tests.support.catchup_kit import HOOK, REPO_ARGS, outage, run, send
from tests.support.catchup_kit import clock_fixture as clock_fixture  # noqa: F401 - fixture
from tests.support.catchup_kit import github_fixture as github_fixture  # noqa: F401 - fixture
from tests.support.catchup_kit import receiver_fixture as receiver_fixture  # noqa: F401 - fixture
from tests.support.github_standin import GitHubStandIn


def test_of_100_failed_30_accepted_exactly_70_are_asked_for_and_a_second_run_asks_none(
    receiver: flask.Flask, github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = outage(github)
    accepted = failures[::10] + failures[1::10] + failures[2::10]  # 30 of them reached runrun
    assert [send(receiver, attempt) for attempt in accepted] == [200] * 30
    github.deliver = lambda attempt: send(receiver, attempt)

    first = run(capsys, github)

    missing = {a.id for a in failures} - {a.id for a in accepted}
    assert first["exit"] == 0, first["stderr"]
    assert len(github.redelivery_requests) == 70
    assert set(github.redelivery_requests) == missing
    assert first["counts"]["redelivered"] == 70
    assert first["counts"]["accepted by runrun"] == 30
    assert first["arrived"] == 150
    lists = [path for method, path, _ in github.calls if method == "GET"]
    assert lists == [f"{HOOK}/deliveries"] * 3  # 280 attempts: three pages of 100
    # GitHub's best practices: a second between mutative requests, through the sleeper.
    assert github.clock.slept.count(1.0) == 69

    second = run(capsys, github)

    assert second["exit"] == 0, second["stderr"]
    assert len(github.redelivery_requests) == 70  # none more
    assert second["counts"]["redelivered"] == 0
    # The 70 arrived through their redelivery; the 30 GitHub still shows failed are runrun's.
    assert second["arrived"] == 220
    assert second["counts"]["accepted by runrun"] == 30


def test_a_second_run_before_github_made_the_redeliveries_asks_none(
    receiver: flask.Flask, github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = outage(github, failed=12, arrived=3)
    assert send(receiver, failures[0]) == 200
    github.deliver = None  # 202, and the new attempts never show in the list

    first = run(capsys, github)
    second = run(capsys, github)

    assert len(github.redelivery_requests) == 11
    assert first["counts"]["redelivered"] == 11
    assert second["counts"]["redelivered"] == 0
    assert second["counts"]["asked before"] == 11


def test_a_failed_redelivery_is_asked_for_once_more_on_the_next_run(
    receiver: flask.Flask, github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = outage(github, failed=4, arrived=0)
    github.deliver = lambda attempt: 503  # runrun still down

    run(capsys, github)
    second = run(capsys, github)
    github.deliver = lambda attempt: send(receiver, attempt)  # runrun is back
    third = run(capsys, github)
    fourth = run(capsys, github)

    assert second["counts"]["redelivered"] == 4  # each newest failure, once
    assert third["counts"]["redelivered"] == 4
    assert fourth["counts"]["redelivered"] == 0
    assert fourth["arrived"] == 4
    assert len(github.redelivery_requests) == 12
    assert {a.id for a in failures} <= set(github.redelivery_requests)


def test_dry_run_asks_for_nothing_and_remembers_nothing(
    receiver: flask.Flask, github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = outage(github, failed=5, arrived=2)
    assert send(receiver, failures[0]) == 200

    dry = run(capsys, github, *REPO_ARGS, "--dry-run")
    real = run(capsys, github)

    assert dry["dry_run"] is True
    assert dry["counts"]["would redeliver"] == 4
    assert dry["counts"]["accepted by runrun"] == 1
    assert [m for m, _, _ in github.calls if m == "POST"] == ["POST"] * 4  # the real run's
    assert real["counts"]["redelivered"] == 4


def test_two_runs_at_once_ask_for_each_event_once(
    receiver: flask.Flask, github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = outage(github, failed=40, arrived=5)
    github.deliver = None
    env = {"GITHUB_API_URL": github.url, "GITHUB_TOKEN": github.auth.token}

    def one_run(_: int) -> int:
        return main(REPO_ARGS, clock=github.clock, sleep=github.clock.sleep, env=env)

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(one_run, range(2)))

    assert codes == [0, 0], capsys.readouterr().err
    assert sorted(github.redelivery_requests) == sorted(a.id for a in failures)
