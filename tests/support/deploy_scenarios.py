"""Deploy scenarios run against the model project (tests/support/gcloud_double): the plans made in
a given environment, the setup run until it passes and once more, then the per-commit
deploy run twice, with what each run changed."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runrun._discover import Target, discover
from runrun.deploy import PlanSettings, cloudbuild_yaml, deploy_by_hand, deploy_step, setup_plan
from runrun.deploy._bundle import bundle_needs
from runrun.deploy._plans import script
from shared import reload_settings
from tests.support.gcloud_double._project import ModelProject, RunResult
from tests.support.runrun_scenarios import corpus

ROOT = corpus.ROOT
EVENTS = ROOT / "tests" / "support" / "runrun_scenarios" / "event_triggers"
PROJECT, REGION = "acme", "europe-west1"
TRIGGER_ACCOUNT = "deployer@acme.iam.gserviceaccount.com"
# The notification channel every alert policy is sent to (RUNRUN_ALERT_CHANNELS), made by hand
CHANNEL = f"projects/{PROJECT}/notificationChannels/oncall"
ROUTES = [{"target": "stripe_webhook", "event": "invoice.paid", "topic": "billing", "body": "x"}]
# Every optional processor and feature configured.
EVERYTHING = {
    "RUNRUN_NOTIFY_ROUTES": json.dumps(ROUTES),
    "RUNRUN_BIGQUERY_TABLE": "webhooks.deliveries",
    "RUNRUN_BIGQUERY_EVENTS": "stripe_webhook:invoice.paid",
    "RUNRUN_CLOUDBUILD_TRIGGERS": "acme/app=trigger-1",
    "RUNRUN_CLOUDBUILD_SERVICE_ACCOUNT": TRIGGER_ACCOUNT,
    "RUNRUN_RELAY_URL": "https://relay.example/hook",
    "DIALOGFLOW_AUDIENCE": "https://runrun.example/dialogflow_webhook",
    "DIALOGFLOW_SERVICE_AGENT": "service-1@gcp-sa-dialogflow.iam.gserviceaccount.com",
}
# Catch-up every hour, as a Cloud Run job that Cloud Scheduler starts (run mode).
CATCHUP = {"RUNRUN_CATCHUP_GITHUB": "--repo acme/app --hook-id 42"}
TASKS = {
    "RUNRUN_TARGET_QUEUES": "shopify_webhook=tasks,stripe_webhook=tasks",
    "RUNRUN_TASKS_QUEUE": f"projects/{PROJECT}/locations/{REGION}/queues/orders",
    "RUNRUN_TASKS_URL": "https://placeholder.example/process_delivery",
}


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    reload_settings()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reload_settings()


@dataclass
class Plans:
    mode: str
    targets: tuple[Target, ...]
    settings: PlanSettings
    setup: str
    deploy: str
    cloudbuild: str
    step: list[str]  # the per-commit deploy step's lines (cloudbuild.yaml's, unescaped)

    @property
    def lines(self) -> list[str]:
        """Both plans' lines: the setup, then what every commit deploys."""
        return [*self.setup.splitlines(), *self.step]


def make_plans(
    mode: str, source: Path, env: Mapping[str, str] | None = None, **overrides: Any
) -> Plans:
    with environment(env or {}):
        targets = discover(source).targets
        values = {
            "project": PROJECT,
            "region": REGION,
            "pyproject": source.parent / "pyproject.toml",
        }
        base = PlanSettings(**{**values, **overrides})
        settings = dataclasses.replace(base, needs=bundle_needs(targets, PROJECT, REGION))
        return Plans(
            mode,
            targets,
            settings,
            "\n".join(script(setup_plan(mode, targets, settings))) + "\n",
            "\n".join(script(deploy_by_hand(mode, settings))) + "\n",
            cloudbuild_yaml(targets),
            deploy_step(mode, targets, settings),
        )


@dataclass
class Outcome:
    model: ModelProject
    setups: list[RunResult]
    deploys: list[RunResult]


def run_scenario(
    folder: Path, plans: Plans, *, setup: str | None = None, cloudbuild: str | None = None
) -> Outcome:
    """Setup until the secrets stop it, versions added, setup twice more; deploy twice."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cloudbuild.yaml").write_text(cloudbuild or plans.cloudbuild)
    model = ModelProject(folder, project=PROJECT)
    model.edit(lambda s: s["accounts"].setdefault(TRIGGER_ACCOUNT, {"email": TRIGGER_ACCOUNT}))
    model.edit(lambda s: s["channels"].setdefault(CHANNEL, {"name": CHANNEL, "type": "email"}))
    text = setup or plans.setup
    setups = [model.run(text)]
    model.add_secret_versions()
    setups += [model.run(text), model.run(text)]
    deploys = [model.run(plans.deploy), model.run(plans.deploy)]
    return Outcome(model, setups, deploys)


SCENARIOS = {
    "run": ("run", ROOT / "main.py", {**EVERYTHING, **TASKS, **CATCHUP}),
    "functions": ("functions", ROOT / "main.py", EVERYTHING),
    "run-events": ("run", EVENTS / "events_main.py", {}),
    "functions-events": ("functions", EVENTS / "events_main.py", {}),
}
_outcomes: dict[str, tuple[Plans, Outcome]] = {}


def scenario(name: str, folder: Path) -> tuple[Plans, Outcome]:
    """A scenario's plans and outcome, run once per session (`folder`: where, the first time)."""
    if name not in _outcomes:
        mode, source, env = SCENARIOS[name]
        plans = make_plans(mode, source, env, alert_channels=(CHANNEL,))
        _outcomes[name] = (plans, run_scenario(folder, plans))
    return _outcomes[name]


def copy_of(model: ModelProject, folder: Path) -> ModelProject:
    """Another model project in the same state, in `folder` (with the same cloudbuild.yaml)."""
    folder.mkdir(parents=True, exist_ok=True)
    copy = ModelProject(folder)
    copy.path.write_text(model.path.read_text())
    (folder / "cloudbuild.yaml").write_text((model.folder / "cloudbuild.yaml").read_text())
    return copy
