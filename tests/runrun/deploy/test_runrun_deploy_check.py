"""`deploy-plan --check`: every command and flag of both plans and of cloudbuild.yaml held
against this machine's gcloud --help (skipped, loudly, where gcloud is not installed)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from runrun.deploy._gcloud_check import HelpCache, check
from tests.support.deploy_scenarios import CATCHUP, CHANNEL, EVENTS, EVERYTHING, TASKS, make_plans
from tests.support.runrun_scenarios import corpus

pytestmark = pytest.mark.skipif(
    shutil.which("gcloud") is None,
    reason="GCLOUD CHECK SKIPPED: gcloud is not installed, so `deploy-plan --check` cannot run",
)


@pytest.fixture(scope="module")
def cache() -> HelpCache:
    return HelpCache()


def test_deploy_plan_check_passes_in_both_modes_and_for_cloudbuild_yaml() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runrun", "deploy-plan", "--check", "--project", "acme"],
        cwd=corpus.ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(result.stderr.splitlines()[-1])
    assert result.returncode == 0, result.stderr
    assert "0 problem" not in result.stderr and "all known" in result.stderr


def test_event_wiring_of_both_modes_checks_too(cache: HelpCache) -> None:
    """Eventarc triggers, event filters, Storage's agent: commands the main project lacks."""
    lines = [
        (f"--mode {mode}", line)
        for mode in ("run", "functions")
        for line in make_plans(mode, EVENTS / "events_main.py").lines
    ]
    assert check(lines, cache) == []
    assert ("eventarc", "triggers", "create") in cache.leaves
    assert ("alpha", "monitoring", "policies", "create") in cache.leaves
    assert ("beta", "services", "identity", "create") in cache.leaves


def test_check_fails_naming_the_offending_line(cache: HelpCache) -> None:
    lines = [
        ("a", "gcloud run deploy svc --retry --project=p"),
        ("b", "X=$(gcloud pubsub subscriptions frobnicate s --project=p)"),
        ("c", "gcloud functions deploy f --retry=yes --region=r"),
        ("d", "gcloud pubsub subscriptions create s --topic --project=p"),
        ("e", "gcloud run deploy svc --project=p >/dev/null"),
    ]
    problems = check(lines, cache)
    assert len(problems) == 4, problems
    run, unknown, switch, valued = problems
    assert run == (
        "a: `gcloud run deploy` has no flag --retry\n    gcloud run deploy svc --retry --project=p"
    )
    assert unknown.startswith("b: ") and "frobnicate" in unknown
    assert switch.startswith("c: --retry of `gcloud functions deploy` is a switch, given a value")
    assert valued.startswith("d: --topic of `gcloud pubsub subscriptions create` needs a value")


def test_alerts_and_the_scheduled_catch_up_check_too(cache: HelpCache) -> None:
    """Every optional feature on: the log-based metrics, the alert policies and their
    channels, the catch-up job and its Cloud Scheduler job, each against gcloud's --help."""
    env = {**EVERYTHING, **TASKS, **CATCHUP}
    plans = make_plans("run", corpus.ROOT / "main.py", env, alert_channels=(CHANNEL,))
    assert check([("run", line) for line in plans.lines], cache) == []
    for leaf in (
        ("logging", "metrics", "create"),
        ("alpha", "monitoring", "policies", "update"),
        ("alpha", "monitoring", "channels", "describe"),
        ("run", "jobs", "deploy"),
        ("scheduler", "jobs", "create", "http"),
    ):
        assert leaf in cache.leaves, leaf
