"""What the optional processors add to the plans: nothing until the settings configure
them; then notify's API, role and routing-table secret, and bigquery's API, dataset (created
if missing), role and table variable, in both modes, each line known to gcloud."""

from __future__ import annotations

import json
import shlex

import pytest

from runrun.deploy._gcloud_check import GcloudMissingError, HelpCache, check
from tests.support.deploy_scenarios import ROOT, Plans, make_plans

RUNTIME = "serviceAccount:runrun-runtime@acme.iam.gserviceaccount.com"
ROUTES = [{"target": "stripe_webhook", "event": "invoice.paid", "topic": "billing", "body": "x"}]
MODES = ("run", "functions")


def configured(mode: str, table: str = "webhooks.deliveries") -> Plans:
    env = {"RUNRUN_NOTIFY_ROUTES": json.dumps(ROUTES), "RUNRUN_BIGQUERY_TABLE": table}
    return make_plans(mode, ROOT / "main.py", env)


def grants(lines: list[str]) -> set[tuple[str, str, str]]:
    """(resource, member, role) of every add-iam-policy-binding, gcloud's and bq's."""
    found = set()
    for line in lines:
        words = (
            shlex.split(line.split(" >/dev/null")[0]) if "add-iam-policy-binding" in line else []
        )
        if words:
            flags = dict(w[2:].split("=", 1) for w in words if w.startswith("--") and "=" in w)
            after = words[words.index("add-iam-policy-binding") + 1 :]
            resource = [w for w in after if not w.startswith("-")]
            member = flags["member"].replace(
                "${RUNTIME_EMAIL}", "runrun-runtime@acme.iam.gserviceaccount.com"
            )
            found.add((resource[0], member, flags["role"]))
    return found


@pytest.mark.parametrize("mode", MODES)
def test_nothing_is_added_until_a_processor_is_configured(mode: str) -> None:
    text = "\n".join(make_plans(mode, ROOT / "main.py").lines)
    for word in ("fcm.googleapis.com", "firebasecloudmessaging", "RUNRUN_NOTIFY_ROUTES", "bq "):
        assert word not in text
    assert "bigquery" not in text.lower()


def test_run_mode_gets_each_processors_roles_secret_and_variable() -> None:
    plans = configured("run")
    lines = plans.setup.splitlines()
    assert {
        ("acme", RUNTIME, "roles/firebasecloudmessaging.admin"),
        ("acme:webhooks", RUNTIME, "roles/bigquery.dataEditor"),
    } <= grants(lines)
    [enabled] = [line for line in lines if line.startswith("gcloud services enable")]
    assert "fcm.googleapis.com" in enabled and "bigquery.googleapis.com" in enabled
    # The dataset is created when missing (describe-or-create) before it is granted on.
    [dataset] = [i for i, line in enumerate(lines) if " mk --dataset acme:webhooks" in line]
    assert lines[dataset].startswith("bq --project_id=acme show --dataset acme:webhooks ")
    assert "bq add-iam-policy-binding" not in " ".join(lines[:dataset])
    assert any("|| gcloud secrets create RUNRUN_NOTIFY_ROUTES " in line for line in lines)
    [deploy] = [shlex.split(line) for line in plans.step if line.startswith("gcloud run deploy")]
    [env] = [w for w in deploy if w.startswith("--set-env-vars=")]
    assert "RUNRUN_BIGQUERY_TABLE=webhooks.deliveries" in env
    [secrets] = [w for w in deploy if w.startswith("--set-secrets=")]
    assert "RUNRUN_NOTIFY_ROUTES=RUNRUN_NOTIFY_ROUTES:latest" in secrets.split("=", 1)[1].split(",")


def test_functions_mode_gives_the_routing_table_to_the_processing_function_only() -> None:
    deploys = {
        words[3]: words
        for words in (shlex.split(line) for line in configured("functions").step)
        if words[:3] == ["gcloud", "functions", "deploy"]
    }
    with_routes = {
        n for n, words in deploys.items() if any("RUNRUN_NOTIFY_ROUTES=" in w for w in words)
    }
    assert with_routes == {"process_delivery"}
    assert all(
        any("RUNRUN_BIGQUERY_TABLE=webhooks.deliveries" in w for w in words)
        for words in deploys.values()
    )


def test_a_table_in_another_project_is_granted_on_that_projects_dataset() -> None:
    lines = configured("run", "analytics.webhooks.deliveries").setup.splitlines()
    assert ("analytics:webhooks", RUNTIME, "roles/bigquery.dataEditor") in grants(lines)


def test_the_configured_plans_gcloud_commands_are_known() -> None:
    try:
        cache = HelpCache()
    except GcloudMissingError as exc:
        pytest.skip(f"GCLOUD MISSING: {exc}")
    lines = [(mode, line) for mode in MODES for line in configured(mode).lines]
    assert check(lines, cache) == []
    assert ("services", "enable") in cache.leaves
