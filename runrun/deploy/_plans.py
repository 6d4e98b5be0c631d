"""The two plans, and the two identities that run them.

- `setup_plan`: run once (and again after adding a target) by a person with Owner: APIs,
  service agents, accounts, grants, secrets, the image repository and source bucket,
  Firestore's TTL, topics, dead letters and their alerts, the library's alert policies
  and the log-based metrics they watch, the Cloud Tasks queue; then the
  first deploy when nothing is deployed yet, and what needs the deployed service (public
  access, event routes, the library's scheduled jobs: catch-up every hour).
- `deploy_step`: what every commit runs, as the build account (cloudbuild.yaml's deploy
  step): `gcloud run deploy`, or one `gcloud functions deploy` per target. Nothing else:
  the build account holds only what a deploy needs.
- `deploy_by_hand`: the same per-commit deploy from a laptop: the build, submitted to Cloud
  Build as the build account, so that a hand-made deploy is the CI one.

Both name their build service account: new projects otherwise build directly submitted
builds as the Compute Engine default account, which may lack what a build needs
(cloud.google.com/build/docs/cloud-build-service-account-updates). Both run top to bottom
twice without a change the second time (tests/support/gcloud_double).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .._discover import Target
from ._functions import functions_deploy, functions_exist, functions_wiring
from ._iam import (
    accounts,
    build_grants,
    project_number,
    push_grants,
    runtime_grants,
    service_agents,
)
from ._monitoring import channels_exist, monitoring_setup
from ._project import apis, build_storage, firestore, secrets, source_bucket, storage_agent, topics
from ._pubsub import dead_letters
from ._run import run_deploy, run_wiring, service_exists
from ._scheduled import check_scheduled, scheduled_jobs
from ._settings import PlanSettings, PlanSettingsError
from ._shell import HEADER, RETRY_FUNCTION, render
from ._tasks import tasks_setup
from ._triggers import Trigger, triggers

MODES = ("run", "functions")


def event_triggers(targets: tuple[Target, ...], s: PlanSettings) -> list[Trigger]:
    found = triggers(targets, pyproject_for(targets, s), topics=s.needs.event_topics)
    return [found[name] for name in sorted(found)]


def pyproject_for(targets: tuple[Target, ...], s: PlanSettings) -> Path:
    """The pyproject.toml holding the trigger table: the one given, else the nearest one
    above the module that defines the first target."""
    if s.pyproject is not None:
        return s.pyproject
    for target in targets:
        file = getattr(sys.modules.get(target.module), "__file__", None)
        if file:
            for folder in Path(file).resolve().parents:
                if (folder / "pyproject.toml").is_file():
                    return folder / "pyproject.toml"
    return Path("pyproject.toml")


def _check_mode(mode: str, s: PlanSettings) -> None:
    if mode not in MODES:
        raise PlanSettingsError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "functions" and s.needs.queue is not None:
        raise PlanSettingsError(
            "the Cloud Tasks hand-off is deployed in run mode only: deploy with --mode run, "
            "or hand deliveries to Pub/Sub"
        )


def submit(mode: str, s: PlanSettings) -> list[str]:
    """Submit cloudbuild.yaml as the build account: the first deploy, and a deploy by hand."""
    subs = f"_DEPLOY_MODE={mode},_REGION={s.region},_SERVICE={s.service},_REPOSITORY={s.repository}"
    return [
        "gcloud",
        "builds",
        "submit",
        ".",
        "--config=cloudbuild.yaml",
        "--ignore-file=.buildignore",
        f"--project={s.project}",
        f"--service-account=projects/{s.project}/serviceAccounts/{s.build_email}",
        f"--substitutions={subs}",
    ]


def setup_plan(mode: str, targets: tuple[Target, ...], s: PlanSettings) -> list[str]:
    """The one-time setup (Owner), in the order things must exist."""
    _check_mode(mode, s)
    check_scheduled(mode, s)  # the setup makes them: the per-commit deploy knows nothing of them
    events = event_triggers(targets, s)
    eventarc = any(not t.is_topic for t in events)
    storage = any(t.event_type.startswith("google.cloud.storage.") for t in events)
    agents = ["pubsub.googleapis.com", *(["eventarc.googleapis.com"] if eventarc else [])]
    lines = [*RETRY_FUNCTION, *apis(mode, eventarc, s), *project_number(s)]
    lines += service_agents(agents, s)
    lines += accounts(s)
    lines += build_storage(s)
    lines += firestore(s)
    wanted = [*s.needs.published_topics, *(t.topic for t in events if t.is_topic)]
    lines += ["# Topics", *topics(wanted, s)]
    lines += runtime_grants(s) + push_grants(eventarc, s) + build_grants(mode, s, source_bucket(s))
    lines += storage_agent(storage, s)
    lines += list(s.needs.setup_lines)
    lines += channels_exist(s)  # before any policy names one
    for trigger in events:
        lines += dead_letters(trigger.target, s)
    lines += monitoring_setup(s)
    lines += tasks_setup(s)
    lines += secrets(s.needs.all_secrets(), s)
    lines.append("# The first deploy, when nothing is deployed yet: the build every commit runs")
    lines += [service_exists(s)] if mode == "run" else functions_exist(targets, s)
    lines.append(f'[ -z "${{FIRST_DEPLOY:-}}" ] || {render(submit(mode, s))}')
    if mode == "run":
        lines += run_wiring(events, s)
    else:
        lines += functions_wiring(targets, {t.target: t for t in events}, s)
    return lines + scheduled_jobs(s)


def deploy_step(mode: str, targets: tuple[Target, ...], s: PlanSettings) -> list[str]:
    """What every commit runs as the build account (cloudbuild.yaml's deploy step)."""
    _check_mode(mode, s)
    events = event_triggers(targets, s)
    if mode == "run":
        return run_deploy(s, bool(events))
    return functions_deploy(targets, {t.target: t for t in events}, s)


def deploy_by_hand(mode: str, s: PlanSettings) -> list[str]:
    _check_mode(mode, s)
    return [
        "# The per-commit deploy, by hand: cloudbuild.yaml (keep it current with",
        "# `python -m runrun cloudbuild > cloudbuild.yaml`) built and deployed as the build",
        "# account",
        render(submit(mode, s)),
    ]


def script(lines: list[str]) -> list[str]:
    return [*HEADER, *lines]
