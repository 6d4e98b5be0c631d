"""The setup plan's alerts and scheduled catch-up against the model project
(tests/support/gcloud_double): after two runs from an empty project, the alert policies on
dead letters, on a target's 5xx share, on receive latency near each provider's answer
window and on processor failures exist, watch log-based metrics that exist, and notify the
channel given (RUNRUN_ALERT_CHANNELS); the catch-up job runs every hour, started by an
account allowed to. A policy removed or changed by hand is put back by the next run; a
malformed one, or one on a metric nobody made, is refused; a channel that does not exist
stops the setup before any policy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runrun.deploy import PlanSettingsError
from tests.support.deploy_scenarios import (
    CATCHUP,
    CHANNEL,
    PROJECT,
    Outcome,
    copy_of,
    make_plans,
    scenario,
)
from tests.support.deploy_scenarios import ROOT as SOURCE_ROOT
from tests.support.gcloud_double._project import ModelProject

POLICIES = ("runrun:deliveries-5xx", "runrun:processor-failures", "runrun:receive-latency-p99")
METRICS = ("runrun_deliveries", "runrun_receive_latency", "runrun_processor_failures")
SCHEDULER = f"runrun-scheduler@{PROJECT}.iam.gserviceaccount.com"
JOB = "runrun-catch-up-github"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Outcome]:
    return scenario("run", tmp_path_factory.mktemp("run"))


def _outcome(run: tuple[object, Outcome]) -> Outcome:
    return run[1]


def test_every_alert_policy_exists_watches_a_made_metric_and_notifies_the_channel(
    run: tuple[object, Outcome],
) -> None:
    state = _outcome(run).model.state
    assert set(METRICS) <= set(state["log_metrics"])
    for title in POLICIES:
        policy = state["policies"][title]
        assert policy["notificationChannels"] == [CHANNEL], title
        assert "copies" not in policy, title  # found by its name, never made twice
        for condition in policy["conditions"]:
            watched = re.findall(r"logging\.googleapis\.com/user/(\w+)", str(condition))
            assert watched and set(watched) <= set(METRICS), title
    dead_letters = [t for t in state["policies"] if t.endswith("-dead-letters")]
    assert dead_letters
    for title in dead_letters:
        assert state["policies"][title]["notificationChannels"] == [CHANNEL]
    share = state["policies"]["runrun:deliveries-5xx"]["conditions"][0]["conditionThreshold"]
    assert share["thresholdValue"] == 0.05 and "denominatorFilter" in share


def test_the_latency_policy_stands_under_each_providers_answer_window(
    run: tuple[object, Outcome],
) -> None:
    conditions = _outcome(run).model.state["policies"]["runrun:receive-latency-p99"]["conditions"]
    threshold_of = {}
    for condition in conditions:
        threshold = condition["conditionThreshold"]
        assert threshold["aggregations"][0]["crossSeriesReducer"] == "REDUCE_PERCENTILE_99"
        for target in re.findall(r'"(\w+)"', threshold["filter"].split("one_of(")[1]):
            threshold_of[target] = threshold["thresholdValue"]
    # Slack answers within 3 s, GitHub within 10 s: each alert stands below its window.
    assert 0 < threshold_of["slack_events"] < 3000
    assert threshold_of["slack_events"] < threshold_of["github_webhook"] < 10000


def test_the_catch_up_job_runs_every_hour_started_by_an_account_allowed_to(
    run: tuple[object, Outcome],
) -> None:
    model = _outcome(run).model
    state = model.state
    assert "cloudscheduler.googleapis.com" in state["apis"]
    job = state["jobs"][JOB]
    # The image the service ran when the setup last ran (the per-commit deploys came after).
    assert job["image"] in state["images"] and job["image"].endswith(":build-1")
    assert job["service-account"] == f"runrun-runtime@{PROJECT}.iam.gserviceaccount.com"
    assert job["args"].split(",")[:3] == ["-m", "shared.catchup", "github"]
    assert "--repo,acme/app,--hook-id,42" in job["args"]
    assert job["set-secrets"] == {"GITHUB_TOKEN": "GITHUB_TOKEN:latest"}
    assert job["env"]["RUNRUN_STORE"] == "firestore"
    schedule = state["schedules"][JOB]
    assert schedule["schedule"] == "0 * * * *"
    assert schedule["oauth-service-account-email"] == SCHEDULER
    assert schedule["uri"].endswith(f"/namespaces/{PROJECT}/jobs/{JOB}:run")
    assert model.roles_of(f"serviceAccount:{SCHEDULER}") == {f"jobs/{JOB}": ["roles/run.invoker"]}


def test_what_was_removed_or_changed_by_hand_is_put_back_and_then_left_alone(
    run: tuple[object, Outcome], tmp_path: Path
) -> None:
    plans, outcome = run
    model = copy_of(outcome.model, tmp_path)

    def damage(state: dict[str, object]) -> None:
        policies = state["policies"]
        assert isinstance(policies, dict)
        del policies["runrun:processor-failures"]
        policies["runrun:deliveries-5xx"]["conditions"][0]["conditionThreshold"][
            "thresholdValue"
        ] = 0.9
        policies["runrun:deliveries-5xx"]["notificationChannels"] = []
        del state["log_metrics"]["runrun_receive_latency"]  # type: ignore[index]
        del state["schedules"][JOB]  # type: ignore[index]

    model.edit(damage)
    setup = plans.setup  # type: ignore[attr-defined]
    repaired = model.run(setup)
    assert repaired.returncode == 0, repaired.stderr[-2000:]
    assert _unnamed(model.state["policies"]) == _unnamed(outcome.model.state["policies"])
    assert model.state["log_metrics"] == outcome.model.state["log_metrics"]
    assert model.state["schedules"] == outcome.model.state["schedules"]
    again = model.run(setup)
    assert again.returncode == 0 and again.changes == [], again.changes


def _unnamed(policies: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
    """Policies without their API-made names (a policy made again gets a new one)."""
    return {title: {k: v for k, v in p.items() if k != "name"} for title, p in policies.items()}


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ('"alignmentPeriod": "300s"', "alignment periods are at least 60 s"),
        ('"comparison": "COMPARISON_GT", ', "a threshold names a metric type and a comparison"),
        ('"displayName": "failed runs', "a condition has a display name and one type"),
    ],
)
def test_a_malformed_policy_is_refused(
    run: tuple[object, Outcome], tmp_path: Path, change: str, refusal: str
) -> None:
    plans, outcome = run
    setup = plans.setup  # type: ignore[attr-defined]
    broken = {
        '"alignmentPeriod": "300s"': '"alignmentPeriod": "30s"',
        '"comparison": "COMPARISON_GT", ': "",
        '"displayName": "failed runs': '"displayNam": "failed runs',
    }[change]
    assert change in setup
    model = copy_of(outcome.model, tmp_path)
    done = model.run(setup.replace(change, broken))
    assert done.returncode == 1
    assert any(refusal in line for line in done.refusals), done.refusals


def test_a_policy_on_a_metric_nobody_made_is_refused(
    run: tuple[object, Outcome], tmp_path: Path
) -> None:
    setup: str = run[0].setup  # type: ignore[attr-defined]
    lines = [line for line in setup.splitlines() if "logging metrics" not in line]
    model = ModelProject(tmp_path, project=PROJECT)
    model.edit(lambda s: s["channels"].setdefault(CHANNEL, {"name": CHANNEL}))
    model.edit(lambda s: s["apis"].extend(["monitoring.googleapis.com", "logging.googleapis.com"]))
    last = max(i for i, line in enumerate(lines) if "monitoring policies" in line)
    start = next(i for i, line in enumerate(lines) if line.startswith("MONITORING_DIR="))
    script = "\n".join(["set -euo pipefail", *lines[start : last + 1]]) + "\n"
    done = model.run(script)
    assert done.returncode == 1
    assert any("log-based metric [runrun_deliveries] not found" in r for r in done.refusals)


def test_a_channel_that_does_not_exist_stops_the_setup_before_any_policy(
    run: tuple[object, Outcome], tmp_path: Path
) -> None:
    plans, outcome = run
    model = copy_of(outcome.model, tmp_path)
    model.edit(lambda s: s.update(channels={}, policies={}))
    done = model.run(plans.setup)  # type: ignore[attr-defined]
    assert done.returncode == 1
    assert "notification channel" in done.stderr and model.state["policies"] == {}


def test_the_scheduler_may_not_start_a_job_its_account_cannot_run(
    run: tuple[object, Outcome], tmp_path: Path
) -> None:
    plans, outcome = run
    model = copy_of(outcome.model, tmp_path)

    def revoke(state: dict[str, object]) -> None:
        del state["schedules"][JOB]  # type: ignore[index]
        del state["iam"][f"jobs/{JOB}"]  # type: ignore[index]

    model.edit(revoke)
    setup = plans.setup  # type: ignore[attr-defined]
    without_grant = "\n".join(
        line for line in setup.splitlines() if "jobs add-iam-policy-binding" not in line
    )
    done = model.run(without_grant)
    assert done.returncode == 1
    assert any(f"cannot run job {JOB}" in r for r in done.refusals), done.refusals


def test_catch_up_settings_are_checked_when_the_plan_is_made() -> None:
    main = SOURCE_ROOT / "main.py"
    with pytest.raises(PlanSettingsError, match="RUNRUN_CATCHUP_GITHUB: --hook-id"):
        make_plans("run", main, {"RUNRUN_CATCHUP_GITHUB": "--repo acme/app"})
    with pytest.raises(PlanSettingsError, match="needs the App's credentials"):
        make_plans(
            "run", main, {"RUNRUN_CATCHUP_GITHUB": "--app", "RUNRUN_CATCHUP_GITHUB_AUTH": "token"}
        )
    with pytest.raises(PlanSettingsError, match="five unix-cron fields"):
        make_plans("run", main, {**CATCHUP, "RUNRUN_CATCHUP_SCHEDULE": "hourly"})
    with pytest.raises(PlanSettingsError, match="only run mode builds"):
        make_plans("functions", main, CATCHUP)
    app = make_plans("run", main, {**CATCHUP, "RUNRUN_CATCHUP_GITHUB_AUTH": "app"})
    secrets = set(app.settings.needs.all_secrets())
    assert {"GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY"} <= secrets and "GITHUB_TOKEN" not in secrets
    assert make_plans("run", main).settings.needs.scheduled is None  # not configured: no job
