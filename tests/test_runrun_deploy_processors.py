"""What the optional processors add to a deploy plan: nothing until the settings configure
them; then notify's API, role and routing-table secret, and bigquery's API, dataset (created
if missing), roles and table variable, in both modes, each line known to gcloud."""

from __future__ import annotations

import json
import shlex

import pytest

from runrun import PlanSettings, Target, discover, plan
from runrun._deploy import MODES
from runrun._gcloud_check import GcloudMissingError, HelpCache, check
from shared import reload_settings
from tests.runrun_scenarios import corpus

RUNTIME = "serviceAccount:runrun-runtime@acme.iam.gserviceaccount.com"
ROUTES = [{"target": "stripe_webhook", "event": "invoice.paid", "topic": "billing", "body": "x"}]


def main_targets() -> tuple[Target, ...]:
    return discover(corpus.MAIN_SOURCE).targets


def configured(monkeypatch: pytest.MonkeyPatch, table: str = "webhooks.deliveries") -> PlanSettings:
    monkeypatch.setenv("RUNRUN_NOTIFY_ROUTES", json.dumps(ROUTES))
    monkeypatch.setenv("RUNRUN_BIGQUERY_TABLE", table)
    reload_settings()
    return PlanSettings.from_env(project="acme", region="europe-west1")


def grants(lines: list[str]) -> set[tuple[str, str, str]]:
    """(resource, member, role) of every add-iam-policy-binding, gcloud's and bq's."""
    found = set()
    for line in lines:
        words = (
            shlex.split(line.split(" >/dev/null")[0]) if "add-iam-policy-binding" in line else []
        )
        if words:
            flags = dict(w[2:].split("=", 1) for w in words if w.startswith("--") and "=" in w)
            resource = [
                w
                for w in words[words.index("add-iam-policy-binding") + 1 :]
                if not w.startswith("-")
            ]
            found.add((resource[0], flags["member"], flags["role"]))
    return found


@pytest.mark.parametrize("mode", MODES)
def test_nothing_is_added_until_a_processor_is_configured(mode: str) -> None:
    text = "\n".join(plan(mode, main_targets(), PlanSettings.from_env(project="acme")))
    for word in ("fcm.googleapis.com", "firebasecloudmessaging", "RUNRUN_NOTIFY_ROUTES", "bq "):
        assert word not in text
    assert "bigquery" not in text.lower()


def test_run_mode_gets_each_processors_roles_secret_and_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = plan("run", main_targets(), configured(monkeypatch))
    assert {
        ("acme", RUNTIME, "roles/firebasecloudmessaging.admin"),
        ("acme:webhooks", RUNTIME, "roles/bigquery.dataEditor"),
        ("acme", RUNTIME, "roles/bigquery.jobUser"),
    } <= grants(lines)
    enabled = [line for line in lines if line.startswith("gcloud services enable")]
    assert any("fcm.googleapis.com" in line for line in enabled)
    assert any("bigquery.googleapis.com" in line for line in enabled)
    # The dataset is created when missing (describe-or-create) before it is granted on.
    [dataset] = [i for i, line in enumerate(lines) if " mk --dataset acme:webhooks" in line]
    assert lines[dataset].startswith("bq --project_id=acme show --dataset acme:webhooks ")
    assert "bq add-iam-policy-binding" not in " ".join(lines[:dataset])
    # The routing table is a secret like the others: created empty, the plan stops until set.
    assert any("|| gcloud secrets create RUNRUN_NOTIFY_ROUTES " in line for line in lines)
    [deploy] = [shlex.split(line) for line in lines if line.startswith("gcloud run deploy")]
    [env] = [w for w in deploy if w.startswith("--set-env-vars=")]
    assert "RUNRUN_BIGQUERY_TABLE=webhooks.deliveries" in env.split("=", 1)[1].split(",")
    [secrets] = [w for w in deploy if w.startswith("--set-secrets=")]
    assert "RUNRUN_NOTIFY_ROUTES=RUNRUN_NOTIFY_ROUTES:latest" in secrets.split("=", 1)[1].split(",")


def test_functions_mode_gives_the_routing_table_to_the_processing_function_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = plan("functions", main_targets(), configured(monkeypatch))
    deploys = {
        words[3]: words
        for words in (shlex.split(line) for line in lines)
        if words[:3] == ["gcloud", "functions", "deploy"]
    }
    with_routes = {
        name for name, words in deploys.items() if any("RUNRUN_NOTIFY_ROUTES=" in w for w in words)
    }
    assert with_routes == {"process_delivery"}
    assert all(
        any(",RUNRUN_BIGQUERY_TABLE=webhooks.deliveries" in w for w in words)
        for words in deploys.values()
    )


def test_a_table_in_another_project_is_granted_on_that_projects_dataset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = plan("run", main_targets(), configured(monkeypatch, "analytics.webhooks.deliveries"))
    assert ("analytics:webhooks", RUNTIME, "roles/bigquery.dataEditor") in grants(lines)


def test_the_configured_plans_gcloud_commands_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = configured(monkeypatch)
    try:
        cache = HelpCache()
    except GcloudMissingError as exc:
        pytest.skip(f"GCLOUD MISSING: {exc}")
    lines = [(mode, line) for mode in MODES for line in plan(mode, main_targets(), settings)]
    assert check(lines, cache) == []
    assert ("services", "enable") in cache.leaves
