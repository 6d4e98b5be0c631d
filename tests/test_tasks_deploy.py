"""`deploy-plan --mode run` when the settings hand deliveries to Cloud Tasks: the queue with
its limits and retries from the settings, the roles, the service's settings; held against
the installed gcloud like every plan (skipped, loudly, without gcloud)."""

from __future__ import annotations

import shutil

import pytest

from runrun import plan
from runrun._build_roles import roles_for
from runrun._deploy_settings import PlanSettings
from runrun._gcloud_check import HelpCache, check
from shared import reload_settings
from tests.test_runrun_deploy_plan import main_targets

QUEUE = "projects/acme/locations/europe-west1/queues/orders"


@pytest.fixture
def tasks_plan(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    for name, value in {
        "GOOGLE_CLOUD_PROJECT": "acme",
        "RUNRUN_TARGET_QUEUES": "shopify_webhook=tasks,stripe_webhook=tasks",
        "RUNRUN_TASKS_QUEUE": QUEUE,
        "RUNRUN_TASKS_URL": "https://placeholder.example/process_delivery",
        "RUNRUN_QUEUE_RATE": "20",
        "RUNRUN_QUEUE_MAX_CONCURRENT": "10",
        "RUNRUN_QUEUE_MAX_ATTEMPTS": "8",
        "RUNRUN_QUEUE_MIN_BACKOFF_SECONDS": "2",
        "RUNRUN_QUEUE_MAX_BACKOFF_SECONDS": "300",
        "RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS": "1800",
    }.items():
        monkeypatch.setenv(name, value)
    reload_settings()
    return plan("run", main_targets(), PlanSettings.from_env(region="europe-west1"))


def test_the_queue_is_created_with_the_settings_limits_and_retries(tasks_plan: list[str]) -> None:
    [queue] = [line for line in tasks_plan if "gcloud tasks queues describe orders" in line]
    for flag in (
        "--max-dispatches-per-second=20",
        "--max-concurrent-dispatches=10",
        "--max-attempts=8",
        "--min-backoff=2s",
        "--max-backoff=300s",
    ):
        assert queue.count(flag) == 2, flag  # the update of an existing queue, or its create
    text = "\n".join(tasks_plan)
    assert "--role=roles/cloudtasks.enqueuer" in text
    assert "--role=roles/run.invoker" in text and "runrun-push@acme" in text
    [deploy] = [line for line in tasks_plan if line.startswith("gcloud run deploy")]
    assert "--timeout=1800" in deploy and "PUSH_AUDIENCE=runrun-push" in deploy
    [update] = [line for line in tasks_plan if line.startswith("gcloud run services update")]
    assert f"RUNRUN_TASKS_QUEUE={QUEUE}" in update
    assert "RUNRUN_TASKS_URL=${SERVICE_URL}/process_delivery" in update
    assert "RUNRUN_TARGET_QUEUES=shopify_webhook=tasks,stripe_webhook=tasks" in update
    assert "RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS=1800" in update
    # Everything comes before the service that needs it, the URL after the deploy.
    order = [text.index(s) for s in ("tasks queues create", "run deploy", "SERVICE_URL=$(")]
    assert order == sorted(order)
    assert roles_for(["tasks", "queues", "create"]) == ("roles/cloudtasks.admin",)


def test_no_cloud_tasks_in_a_plan_whose_settings_do_not_use_it() -> None:
    text = "\n".join(plan("run", main_targets(), PlanSettings(project="acme")))
    assert "tasks" not in text and "--timeout" not in text


@pytest.mark.skipif(
    shutil.which("gcloud") is None,
    reason="GCLOUD CHECK SKIPPED: gcloud is not installed, so `deploy-plan --check` cannot run",
)
def test_the_cloud_tasks_plan_passes_the_gcloud_check(tasks_plan: list[str]) -> None:
    assert check([("--mode run", line) for line in tasks_plan], HelpCache()) == []
