"""The steps a deploy plan adds to run catch-up every hour: every gcloud command and flag held
against this machine's gcloud --help, and the job's own command line run as the job runs it,
in a process of its own, against the GitHub stand-in."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.catchup import schedule_steps
from tests.support.catchup_kit import HOOK
from tests.support.catchup_kit import clock_fixture as clock_fixture  # noqa: F401 - fixture
from tests.support.catchup_kit import github_fixture as github_fixture  # noqa: F401 - fixture
from tests.support.github_standin import GitHubStandIn
from tests.support.pubsub_util import ROOT

STEPS = schedule_steps(
    project="acme",
    region="europe-west1",
    image="europe-west1-docker.pkg.dev/acme/runrun/runrun:latest",
    runtime_account="runrun-runtime@acme.iam.gserviceaccount.com",
    scheduler_account="runrun-scheduler@acme.iam.gserviceaccount.com",
    hook_args=["--repo", "octo/runrun", "--hook-id", "1"],
    env={"RUNRUN_STORE": "firestore", "RUNRUN_IDEMPOTENCY_COLLECTION": "idempotency"},
    secrets={"GITHUB_TOKEN": "GITHUB_TOKEN"},
)


def _flag(command: list[str], name: str) -> str:
    return next(arg.split("=", 1)[1] for arg in command if arg.startswith(f"--{name}="))


@pytest.mark.skipif(
    shutil.which("gcloud") is None,
    reason="GCLOUD CHECK SKIPPED: gcloud is not installed, so the catch-up steps cannot be held",
)
def test_every_step_is_a_command_gcloud_knows_with_flags_it_takes() -> None:
    from runrun.deploy._gcloud_check import HelpCache, check

    commands = [command for step in STEPS for command in (step.apply, step.describe) if command]
    problems = check([("catch-up", shlex.join(command)) for command in commands], HelpCache())

    assert problems == []


def test_the_scheduler_starts_the_job_as_an_account_allowed_to_run_it() -> None:
    deploy, invoker, scheduler = (step.apply for step in STEPS)

    assert deploy[:5] == ["gcloud", "run", "jobs", "deploy", "runrun-catch-up-github"]
    assert _flag(deploy, "set-secrets") == "GITHUB_TOKEN=GITHUB_TOKEN:latest"
    assert (
        _flag(invoker, "member") == "serviceAccount:runrun-scheduler@acme.iam.gserviceaccount.com"
    )
    assert _flag(invoker, "role") == "roles/run.invoker"
    assert _flag(scheduler, "uri") == (
        "https://europe-west1-run.googleapis.com/apis/run.googleapis.com/v1/"
        "namespaces/acme/jobs/runrun-catch-up-github:run"
    )
    assert _flag(scheduler, "oauth-service-account-email") == _flag(invoker, "member").split(":")[1]
    assert STEPS[2].describe is not None and "describe" in STEPS[2].describe
    with pytest.raises(ValueError, match="comma"):
        schedule_steps(**{**_arguments(), "hook_args": ["--repo", "a,b"]})


def _arguments() -> dict[str, object]:
    return {
        "project": "acme",
        "region": "europe-west1",
        "image": "image",
        "runtime_account": "a@acme.iam.gserviceaccount.com",
        "scheduler_account": "b@acme.iam.gserviceaccount.com",
        "hook_args": [],
        "env": {},
        "secrets": {},
    }


def test_the_jobs_command_line_runs_in_a_process_of_its_own(
    github: GitHubStandIn, tmp_path: Path
) -> None:
    lost = github.add(HOOK, "lost-while-down", 502, 600)
    deploy = STEPS[0].apply
    argv = [_flag(deploy, "command"), *_flag(deploy, "args").split(",")]
    env = {
        **os.environ,
        "RUNRUN_STORE": "sqlite",
        "RUNRUN_STATE_DIR": str(tmp_path),
        "GITHUB_API_URL": github.url,
        "GITHUB_TOKEN": github.auth.token,
    }

    done = subprocess.run(
        [sys.executable, *argv[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert argv[0] == "python"
    assert done.returncode == 0, done.stderr
    assert github.redelivery_requests == [lost.id]
    assert "1 never did: 1 redelivered" in done.stdout
