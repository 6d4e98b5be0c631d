"""`catch-up github` under GitHub's rules: rate limits waited out as GitHub asks (every wait
seen through the fake clock's sleeper), a GitHub App's JWT and installation token, the
three-day redelivery window, and bad input refused with a message naming it. The store is
the embedded SQLite one; the stand-in is a real HTTP server."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.support.catchup_kit import APP_KEY, HOOK, REPO_ARGS, embedded_store, outage, run
from tests.support.catchup_kit import clock_fixture as clock_fixture  # noqa: F401 - fixture
from tests.support.catchup_kit import github_fixture as github_fixture  # noqa: F401 - fixture
from tests.support.github_standin import GitHubStandIn

APP = {"GITHUB_TOKEN": "", "GITHUB_APP_ID": "424242", "GITHUB_APP_PRIVATE_KEY": APP_KEY}


@pytest.fixture(autouse=True)
def embedded(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    embedded_store(monkeypatch)


def statuses(github: GitHubStandIn, method: str) -> list[int]:
    return [status for m, _, status in github.calls if m == method]


@pytest.mark.parametrize("status", [403, 429])
def test_a_spent_primary_limit_is_waited_out_until_its_reset(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    outage(github, failed=5, arrived=0)
    start, github.limits.status = github.clock(), status
    github.limits.reset_at, github.limits.spent_after = start + 600, 2  # the list, one POST

    report = run(capsys, github)

    assert report["exit"] == 0, report["stderr"]
    assert statuses(github, "POST") == [202, status, 202, 202, 202, 202]
    assert len(github.redelivery_requests) == 5
    # A second's pause before the second POST; then, limited, until the reset and a second.
    assert github.clock.slept[:2] == [1.0, 600.0]


def test_a_limit_spent_by_a_success_holds_the_next_request_until_the_reset(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    outage(github, failed=3, arrived=0)
    github.limits.remaining, github.limits.reset_at = 1, github.clock() + 300

    report = run(capsys, github)

    assert report["counts"]["redelivered"] == 3
    assert 403 not in statuses(github, "POST")  # it waited instead of asking in vain
    assert github.clock.slept[0] == 301.0


@pytest.mark.parametrize("status", [403, 429])
def test_a_secondary_limit_with_retry_after_is_waited_out(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    outage(github, failed=3, arrived=0)
    github.limits.secondary = [("POST", status, 45)]

    report = run(capsys, github)

    assert report["counts"]["redelivered"] == 3
    assert statuses(github, "POST") == [status, 202, 202, 202]
    assert github.clock.slept[0] == 45.0


def test_repeated_secondary_limits_without_retry_after_back_off_exponentially(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    outage(github, failed=1, arrived=0)
    github.limits.secondary = [("GET", 403, None)] * 3

    report = run(capsys, github)

    assert report["counts"]["redelivered"] == 1
    assert github.clock.slept[:3] == [60.0, 120.0, 240.0]  # at least a minute, doubling


def test_a_limit_that_never_lifts_ends_the_run_with_githubs_message(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    outage(github, failed=1, arrived=0)
    github.limits.secondary = [("GET", 429, 10)] * 20

    report = run(capsys, github)

    assert report["exit"] == 1
    assert "still rate limits GET" in report["stderr"]
    assert "secondary rate limit" in report["stderr"]
    assert github.clock.slept == [10.0] * 8
    assert github.redelivery_requests == []


def test_a_github_app_reads_a_repository_hook_with_an_installation_token(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    outage(github, failed=4, arrived=3)

    report = run(capsys, github, *REPO_ARGS, **APP)

    assert report["exit"] == 0, report["stderr"]
    assert report["counts"]["redelivered"] == 4
    assert github.auth.jwts_seen == 2  # the installation lookup, the token exchange
    assert len(github.auth.issued) == 1  # one token, reused for every call
    paths = [path for _, path, _ in github.calls]
    assert paths[:2] == ["/repos/octo/runrun/installation", "/app/installations/42/access_tokens"]


def test_a_github_apps_own_hook_is_read_with_its_jwt(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(3):
        github.add("/app/hook", f"guid-{n}", 502, 3600 * (n + 1))

    report = run(capsys, github, "github", "--app", "--json", **APP)
    with_token = run(capsys, github, "github", "--app", "--json")

    assert report["counts"]["redelivered"] == 3
    assert github.auth.jwts_seen == 1 + 3  # the list, each redelivery
    assert with_token["exit"] == 2
    assert "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY" in with_token["stderr"]


def test_a_jwt_github_refuses_ends_the_run_with_its_reason(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    github.add("/app/hook", "guid", 502, 60)

    report = run(capsys, github, "github", "--app", **{**APP, "GITHUB_APP_ID": "7"})

    assert report["exit"] == 1
    assert "GitHub answered 401 to GET /app/hook/deliveries" in report["stderr"]
    assert "'Issuer' claim" in report["stderr"]


def test_only_the_three_day_window_is_asked_for(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    old = github.add(HOOK, "four-days-old", 502, 4 * 86400)
    recent = github.add(HOOK, "one-day-old", 502, 86400)

    default = run(capsys, github, *REPO_ARGS, "--dry-run")
    longer = run(capsys, github, *REPO_ARGS, "--since", "5d")

    assert [e["guid"] for e in default["events"]] == [recent.guid]
    verdicts = {e["guid"]: e["verdict"] for e in longer["events"]}
    assert verdicts == {old.guid: "too old", recent.guid: "redelivered"}
    assert github.redelivery_requests == [recent.id]
    assert "only the past 3 days" in longer["stderr"]


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["github", "--repo", "octo/runrun"], {}, "--hook-id N is required"),
        (["github", "--repo", "octo", "--hook-id", "1"], {}, "'octo' is not OWNER/REPO"),
        (["github", "--app", "--hook-id", "1"], APP, "--app takes no --hook-id"),
        (["github", "--org", "octo", "--hook-id", "0"], {}, "a positive number"),
        ([*REPO_ARGS, "--since", "yesterday"], {}, "neither a time"),
        ([*REPO_ARGS, "--since", "2020-01-01T00:00:00"], {}, "needs a time zone"),
        ([*REPO_ARGS, "--since", "2999-01-01T00:00:00Z"], {}, "is in the future"),
        (REPO_ARGS, {"GITHUB_TOKEN": ""}, "no GitHub credentials"),
        (REPO_ARGS, {**APP, "GITHUB_APP_PRIVATE_KEY": "-----BEGIN"}, "not an RSA private key"),
        (REPO_ARGS, {**APP, "GITHUB_APP_ID": ""}, "needs both GITHUB_APP_ID"),
        (REPO_ARGS, {"GITHUB_API_URL": "api.github.com"}, "is not an http(s) URL"),
        (["github", "--org", "octo/x", "--hook-id", "1"], {}, "not an organisation's name"),
        (["gitlab"], {}, "invalid choice: 'gitlab'"),
    ],
)
def test_bad_input_is_refused_naming_the_problem(
    github: GitHubStandIn,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
    message: str,
) -> None:
    report = run(capsys, github, *args, **env)

    assert report["exit"] == 2
    assert message in report["stderr"]
    assert github.calls == []


def test_a_token_github_refuses_ends_the_run_with_its_message(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    report = run(capsys, github, *REPO_ARGS, GITHUB_TOKEN="expired")

    assert report["exit"] == 1
    assert "GitHub answered 401 to GET /repos/octo/runrun/hooks/1/deliveries" in report["stderr"]
    assert "Bad credentials" in report["stderr"]


def test_runrun_catch_up_runs_the_command(
    github: GitHubStandIn, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from runrun._cli import main as runrun

    attempt = github.add(HOOK, "lost", 503, 600)
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_TOKEN", github.auth.token)

    assert runrun(["catch-up", "github", "--repo", "octo/runrun", "--hook-id", "1"]) == 0
    assert runrun(["catch-up", "github", "--repo", "octo/runrun"]) == 2

    out, err = capsys.readouterr()
    assert github.redelivery_requests == [attempt.id]
    assert out.startswith("redelivered ")
    assert "1 never did: 1 redelivered" in out
    assert "--hook-id N is required" in err


def test_the_stand_in_keeps_to_the_documented_contract(github: GitHubStandIn) -> None:
    outage(github, failed=3, arrived=2)
    token = {"Authorization": f"Bearer {github.auth.token}"}
    url = f"{github.url}{HOOK}/deliveries"

    page = requests.get(url, params={"per_page": "2"}, headers=token, timeout=10)
    following = requests.get(page.links["next"]["url"], headers=token, timeout=10)
    everything = requests.get(url, params={"per_page": "500"}, headers=token, timeout=10)
    failures = requests.get(url, params={"status": "failure"}, headers=token, timeout=10)

    assert len(page.json()) == 2 and len(following.json()) == 2
    assert {i["id"] for i in page.json()}.isdisjoint(i["id"] for i in following.json())
    assert len(everything.json()) == 6  # per_page is capped at 100, not refused
    assert {i["status_code"] for i in failures.json()} <= set(range(400, 600))
    assert page.headers["x-ratelimit-remaining"] == str(github.limits.limit - 1)
    for params in ({"cursor": "bogus"}, {"per_page": "0"}, {"status": "ok"}):
        refused = requests.get(url, params=params, headers=token, timeout=10)
        assert refused.status_code == 422, params
        assert refused.json()["message"] == "Validation Failed"
    assert requests.get(url, timeout=10).status_code == 401
    attempt = page.json()[0]["id"]
    again = requests.post(f"{url}/{attempt}/attempts", headers=token, timeout=10)
    assert (again.status_code, again.json()) == (202, {})
