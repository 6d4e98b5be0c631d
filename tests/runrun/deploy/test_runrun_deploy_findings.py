"""One test per finding of the deploy review, each named after it, each failing when its
fix is removed: the plans are checked as written, and the model project
(tests/support/gcloud_double) shows what the unfixed line would do on a real project."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from runrun.deploy import PlanSettings, PlanSettingsError, QueueNeeds
from runrun.deploy._build_roles import FORBIDDEN, build_roles
from runrun.deploy._bundle import CARRIED, NOT_CARRIED
from runrun.deploy._cloudbuild import check_substitutions
from runrun.deploy._gcloud_check import gcloud_commands
from runrun.deploy._plans import deploy_step
from runrun.deploy._run import eventarc_name
from runrun.deploy._tasks import max_attempts
from shared import ProcessorRegistry, check_scheduling, reload_settings
from tests.support.deploy_scenarios import EVENTS, ROOT, Plans, copy_of, make_plans, scenario
from tests.support.gcloud_double._project import ModelProject
from tests.support.gcloud_double._rules import Refused, substitute

FINDINGS_SETUP = ("run", "functions")


@pytest.fixture
def run_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plans, ModelProject]:
    plans, outcome = scenario("run", tmp_path_factory.mktemp("run"))
    return plans, outcome.model


@pytest.fixture
def functions_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plans, ModelProject]:
    plans, outcome = scenario("functions", tmp_path_factory.mktemp("functions"))
    return plans, outcome.model


def calls(text: str) -> list[list[str]]:
    return [words for line in text.splitlines() for words in gcloud_commands(line)]


def test_finding_1_every_build_names_its_service_account(
    run_case: tuple[Plans, ModelProject], functions_case: tuple[Plans, ModelProject], tmp_path: Path
) -> None:
    for plans, _ in (run_case, functions_case):
        for words in calls(plans.setup + plans.deploy + plans.cloudbuild):
            if words[:2] == ["builds", "submit"]:
                assert any(w.startswith("--service-account=projects/") for w in words)
            if words[:2] == ["functions", "deploy"]:
                assert any(w.startswith("--build-service-account=projects/") for w in words)
    plans, model = run_case
    unnamed = re.sub(r" --service-account=projects/\S+", "", plans.deploy)
    result = copy_of(model, tmp_path / "copy").run(unnamed)
    assert result.returncode == 1 and "does not have storage.objects.list access" in result.stderr


def test_finding_2_accounts_are_created_by_id_never_by_email(tmp_path: Path) -> None:
    plans = make_plans("run", ROOT / "main.py", {})
    created = [w[3] for w in calls(plans.setup) if w[:3] == ["iam", "service-accounts", "create"]]
    assert created == ["runrun-runtime", "runrun-push", "runrun-build"]
    assert "service-accounts create" not in plans.cloudbuild
    with pytest.raises(PlanSettingsError, match="service account id"):
        PlanSettings(region="r", push_account="runrun-push@acme.iam.gserviceaccount.com")
    model = ModelProject(tmp_path)
    model.edit(lambda s: s["apis"].append("iam.googleapis.com"))
    result = model.run(
        "gcloud iam service-accounts create runrun-push@acme.iam.gserviceaccount.com\n"
    )
    assert result.returncode == 1 and "is not a valid account id" in result.stderr


def test_finding_3_public_access_turns_the_invoker_check_off_instead_of_all_users(
    run_case: tuple[Plans, ModelProject], functions_case: tuple[Plans, ModelProject], tmp_path: Path
) -> None:
    for plans, model in (run_case, functions_case):
        assert "--allow-unauthenticated" not in plans.setup + plans.cloudbuild
        public = [w for w in calls(plans.setup) if "--no-invoker-iam-check" in w]
        assert public and all(w[:3] == ["run", "services", "update"] for w in public)
        assert not any("allUsers" in str(roles) for roles in model.state["iam"].values())
    # Without the fix: under domain-restricted sharing the function deploy exits 1.
    plans, model = functions_case
    copy = copy_of(model, tmp_path / "copy")
    yaml = (copy.folder / "cloudbuild.yaml").read_text()
    (copy.folder / "cloudbuild.yaml").write_text(
        yaml.replace(" --trigger-http ", " --trigger-http --allow-unauthenticated ")
    )
    result = copy.run(plans.deploy)
    assert result.returncode == 1 and "allUsers is not a permitted member" in result.stderr


def test_finding_4_agents_are_created_and_grants_retried_while_they_propagate(
    tmp_path: Path,
) -> None:
    plans = make_plans("run", EVENTS / "events_main.py", {})
    assert "beta services identity create --service=pubsub.googleapis.com" in plans.setup
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "cloudbuild.yaml").write_text(plans.cloudbuild)
    fixed = ModelProject(tmp_path / "a").run(plans.setup)
    assert fixed.returncode == 0, fixed.stderr[-2000:]
    assert "attempt 1 failed; retrying" in fixed.stderr  # each retry is printed
    for name, broken in (
        ("no retry", plans.setup.replace("runrun_retry gcloud", "gcloud")),
        ("no agent", re.sub(r".*services identity create.*\n", "", plans.setup)),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "cloudbuild.yaml").write_text(plans.cloudbuild)
        result = ModelProject(tmp_path / name).run(broken)
        assert result.returncode == 1, name
        assert "does not exist" in result.stderr, (name, result.stderr[-500:])


def test_finding_5_one_deploy_carries_the_cloud_tasks_settings(
    run_case: tuple[Plans, ModelProject], monkeypatch: pytest.MonkeyPatch
) -> None:
    plans, model = run_case
    step = [w for w in calls(plans.cloudbuild) if w[0] == "run"]
    # One deploy; no later update to switch queues.
    assert [w[:3] for w in step] == [
        ["run", "services", "describe"],
        ["run", "deploy", "${_SERVICE}"],
    ]
    env = model.state["services"]["runrun"]["env"]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    registry = ProcessorRegistry()
    registry.register("stripe_webhook", name="later", delay=60)(lambda d, r: None)
    check_scheduling(reload_settings(), registry)  # the first revision starts
    monkeypatch.delenv("RUNRUN_TASKS_URL")  # the old first deploy lacked it
    with pytest.raises(Exception, match="RUNRUN_TASKS_URL"):
        check_scheduling(reload_settings(), registry)
    monkeypatch.setenv("RUNRUN_TASKS_URL", env["RUNRUN_TASKS_URL"])  # for the teardown


def test_finding_6_every_setting_the_service_reads_is_carried_or_said_why_not() -> None:
    # The settings package's blocks and each processor's own block read the environment
    # for the service.
    readers = [*(ROOT / "shared" / "settings").glob("*.py")]
    readers += (ROOT / "shared" / "processors").rglob("*.py")
    config = "".join(p.read_text() for p in readers)
    read = set(re.findall(r'"((?:RUNRUN|DIALOGFLOW|PUSH|K|[A-Z]+_EMULATOR)_[A-Z0-9_]+)"', config))
    read -= {"RUNRUN_DEADLINE_SECONDS_"}
    read -= {"RUNRUN_OIDC_CERTS_URL"}  # read by the verifiers, for tests
    # The scan finds the core blocks' variables and the processors' alike.
    assert {"RUNRUN_STORE", "RUNRUN_RELAY_URL", "RUNRUN_BIGQUERY_TABLE"} <= read
    assert read - set(CARRIED) - set(NOT_CARRIED) == set()


def test_finding_6_configured_settings_survive_the_next_deploy_and_hand_edits_do_not(
    run_case: tuple[Plans, ModelProject], tmp_path: Path
) -> None:
    plans, model = run_case
    copy = copy_of(model, tmp_path / "copy")
    copy.edit(lambda s: s["services"]["runrun"]["env"].update(BY_HAND="1"))
    assert copy.run(plans.deploy).returncode == 0
    env = copy.state["services"]["runrun"]["env"]
    assert "BY_HAND" not in env  # --set-env-vars replaced everything
    assert env["RUNRUN_CLOUDBUILD_TRIGGERS"] == "acme/app=trigger-1"
    assert env["RUNRUN_RELAY_URL"] == "https://relay.example/hook"
    assert env["RUNRUN_BIGQUERY_EVENTS"] == "stripe_webhook:invoice.paid"


def test_finding_7_the_region_is_required(
    run_case: tuple[Plans, ModelProject], tmp_path: Path
) -> None:
    with pytest.raises(PlanSettingsError, match="region is required"):
        PlanSettings(project="acme")
    plans, model = run_case
    assert "_REGION:" not in plans.cloudbuild.split("options:")[0]  # no default region
    without = re.sub(r",_REGION=[^,\s]+", "", plans.deploy)
    result = copy_of(model, tmp_path / "copy").run(without)
    assert result.returncode == 1 and "_REGION is required" in result.stderr


def test_finding_8_no_substitution_is_mangled() -> None:
    check_substitutions(make_plans("run", EVENTS / "events_main.py", {}).cloudbuild)
    with pytest.raises(PlanSettingsError, match="no Cloud Build substitution"):
        check_substitutions('gcloud eventarc triggers create "${-service}-on-upload"\n')
    with pytest.raises(Refused, match="not a valid built-in substitution"):
        substitute('"${-service}-on-upload"', {})
    with pytest.raises(PlanSettingsError, match="lowercase letters"):
        eventarc_name(PlanSettings(service="${_SERVICE}", region="r"), "on_upload")


def test_finding_9_cloud_tasks_retries_a_day_backing_off_to_ten_minutes() -> None:
    queue = QueueNeeds(queue="q", min_backoff=1.0, max_backoff=600.0)
    attempts = max_attempts(queue)
    waits = [min(2.0**k, 600.0) for k in range(attempts - 1)]
    assert sum(waits) >= 24 * 3600 > sum(waits[:-1])
    plans = make_plans("run", ROOT / "main.py", {"RUNRUN_QUEUE": "tasks", **_tasks()})
    [queue_line] = [line for line in plans.setup.splitlines() if "tasks queues describe" in line]
    for flag in (
        f"--max-attempts={attempts}",
        "--max-backoff=600s",
        "--log-sampling-ratio=1.0",
        "--max-retry-duration=0s",
    ):
        assert queue_line.count(flag) == 2, flag  # the update of an existing queue, or its create


def _tasks() -> dict[str, str]:
    return {
        "RUNRUN_TASKS_QUEUE": "projects/acme/locations/europe-west1/queues/q",
        "RUNRUN_TASKS_URL": "https://placeholder.example/process_delivery",
    }


@pytest.mark.parametrize("mode", FINDINGS_SETUP)
def test_finding_11_and_12_subscriptions_never_expire_and_dead_letters_keep_31_days_watched(
    mode: str,
) -> None:
    plans = make_plans(mode, EVENTS / "events_main.py", {})
    subscriptions = [
        w
        for w in calls(plans.setup)
        if w[:2] == ["pubsub", "subscriptions"] and w[2] in ("create", "update")
    ]
    assert subscriptions
    for words in subscriptions:
        assert "--expiration-period=never" in words, words
        if words[3].endswith("-dead-letters"):
            assert "--message-retention-duration=31d" in words
    dead = {w[3] for w in subscriptions if w[3].endswith("-dead-letters")}
    watched = set(re.findall(r"--display-name=runrun:(\S+)", plans.setup))
    assert dead and watched == dead


def test_finding_14_builds_editor_only_with_cloud_build_triggers_configured() -> None:
    plain = make_plans("run", ROOT / "main.py", {})
    assert "cloudbuild.builds.editor" not in plain.setup
    configured = make_plans("run", ROOT / "main.py", {"RUNRUN_CLOUDBUILD_TRIGGERS": "acme/app=t-1"})
    assert "--role=roles/cloudbuild.builds.editor" in configured.setup


@pytest.mark.parametrize("mode", FINDINGS_SETUP)
def test_finding_15_the_per_commit_deploy_needs_no_owner(mode: str) -> None:
    plans = make_plans(mode, ROOT / "main.py", {})
    needed = build_roles(deploy_step(mode, plans.targets, plans.settings))
    granted = {w[w.index("add-iam-policy-binding") + 2 :][0] for w in []}  # noqa: F841
    build_member = "serviceAccount:runrun-build@acme.iam.gserviceaccount.com"
    grants = {
        next(x.split("=", 1)[1] for x in w if x.startswith("--role="))
        for w in calls(plans.setup)
        if "add-iam-policy-binding" in w and f"--member={build_member}" in w
    }
    assert set(needed) <= grants
    assert not grants & set(FORBIDDEN)
    project_grants = [
        w for w in calls(plans.setup)
        if w[:2] == ["projects", "add-iam-policy-binding"] and f"--member={build_member}" in w
    ]  # fmt: skip
    assert not any("--role=roles/iam.serviceAccountUser" in w for w in project_grants)
    # The per-commit deploy touches nothing but the deploy itself (and reads the URL).
    assert {tuple(w[:3]) for w in calls(plans.cloudbuild)} <= {
        ("run", "deploy", "${_SERVICE}"),
        ("run", "services", "describe"),
        *(("functions", "deploy", t.name) for t in plans.targets),
    }


def test_finding_16_no_bigquery_job_role_for_a_processor_that_runs_no_job() -> None:
    plans = make_plans("run", ROOT / "main.py", {"RUNRUN_BIGQUERY_TABLE": "webhooks.deliveries"})
    assert "roles/bigquery.dataEditor" in plans.setup
    assert "jobUser" not in plans.setup


__all__ = ["dataclasses"]
