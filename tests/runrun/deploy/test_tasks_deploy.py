"""The setup when the settings hand deliveries to Cloud Tasks: the queue with its limits
from the settings and a day of retries, its roles, and the one deploy carrying the tasks'
settings; held against the installed gcloud like every plan (skipped, loudly, without it)."""

from __future__ import annotations

import shutil

import pytest

from runrun.deploy import PlanSettingsError
from runrun.deploy._gcloud_check import HelpCache, check
from tests.support.deploy_scenarios import ROOT, Plans, make_plans

QUEUE = "projects/acme/locations/europe-west1/queues/orders"
ENV = {
    "RUNRUN_TARGET_QUEUES": "shopify_webhook=tasks,stripe_webhook=tasks",
    "RUNRUN_TASKS_QUEUE": QUEUE,
    "RUNRUN_TASKS_URL": "https://placeholder.example/process_delivery",
    "RUNRUN_QUEUE_RATE": "20",
    "RUNRUN_QUEUE_MAX_CONCURRENT": "10",
    "RUNRUN_QUEUE_MIN_BACKOFF_SECONDS": "2",
    "RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS": "1800",
}


@pytest.fixture(scope="module")
def tasks_plan() -> Plans:
    return make_plans("run", ROOT / "main.py", ENV)


def test_the_queue_is_created_with_the_settings_limits_and_a_day_of_retries(
    tasks_plan: Plans,
) -> None:
    [queue] = [
        line
        for line in tasks_plan.setup.splitlines()
        if "gcloud tasks queues describe orders" in line
    ]
    for flag in (
        "--max-dispatches-per-second=20",
        "--max-concurrent-dispatches=10",
        "--min-backoff=2s",
        "--max-backoff=600s",
        "--log-sampling-ratio=1.0",
    ):
        assert queue.count(flag) == 2, flag  # the update of an existing queue, or its create
    text = tasks_plan.setup
    assert "--role=roles/cloudtasks.enqueuer" in text
    [deploy] = [line for line in tasks_plan.step if line.startswith("gcloud run deploy")]
    assert "--timeout=1800" in deploy
    assert f"RUNRUN_TASKS_QUEUE={QUEUE}" in deploy
    assert (
        "RUNRUN_TASKS_URL=https://runrun-${PROJECT_NUMBER}.europe-west1.run.app/process_delivery"
        in deploy
    )
    assert "RUNRUN_TARGET_QUEUES=shopify_webhook=tasks,stripe_webhook=tasks" in deploy
    assert "RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS=1800" in deploy
    assert not any("services update" in line and "env-vars" in line for line in tasks_plan.lines)


def test_no_cloud_tasks_in_a_plan_whose_settings_do_not_use_it() -> None:
    text = "\n".join(make_plans("run", ROOT / "main.py").lines)
    assert "tasks" not in text and "--timeout=1800" not in text


def test_functions_mode_refuses_the_cloud_tasks_hand_off() -> None:
    with pytest.raises(PlanSettingsError, match="run mode only"):
        make_plans("functions", ROOT / "main.py", ENV)


@pytest.mark.skipif(
    shutil.which("gcloud") is None,
    reason="GCLOUD CHECK SKIPPED: gcloud is not installed, so `deploy-plan --check` cannot run",
)
def test_the_cloud_tasks_plan_passes_the_gcloud_check(tasks_plan: Plans) -> None:
    assert check([("--mode run", line) for line in tasks_plan.lines], HelpCache()) == []
