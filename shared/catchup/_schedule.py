"""How a deploy plan runs catch-up every hour: a Cloud Run job, started by Cloud Scheduler.

A job rather than an endpoint of the service: a run may wait out a GitHub rate limit for up
to an hour, far past a request's deadline, and a job keeps that wait off the instances that
answer providers. The job runs the service's own image with the service's store settings,
so it reads the same idempotency records the targets write.

cloud.google.com/run/docs/execute/jobs-on-schedule: Cloud Scheduler starts a job with an
authenticated POST to the job's `:run` method, as a service account holding
`roles/run.invoker` on the job (`--oauth-service-account-email`). `gcloud run jobs deploy`
creates the job or updates it to these settings; the Scheduler job is described first and
created only when missing, so running the steps again changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Where `python -m` finds the command, taken from this package's own name.
MODULE = __name__.rpartition(".")[0]
JOB = "runrun-catch-up-github"
# Longer than GitHub's longest wait (the primary limit's hourly reset) plus the listing.
TASK_TIMEOUT = "5400s"

Command = list[str]


@dataclass(frozen=True)
class Step:
    """One idempotent step: `apply` runs when `describe` fails (or always when None)."""

    comment: str
    apply: Command
    describe: Command | None = None


def schedule_steps(
    *,
    project: str,
    region: str,
    image: str,
    runtime_account: str,
    scheduler_account: str,
    hook_args: Sequence[str],
    env: Mapping[str, str],
    secrets: Mapping[str, str],
    schedule: str = "0 * * * *",
    job: str = JOB,
) -> list[Step]:
    """The steps that make `catch-up github <hook_args>` run on `schedule` (cron, UTC).

    `env`: the store settings the service runs with (RUNRUN_STORE, the collection...);
    `secrets`: env var -> Secret Manager secret (GITHUB_TOKEN, or the App's id and key),
    each read at its latest version."""
    for value in (*hook_args, *env.values(), *secrets.values()):
        if "," in value:
            raise ValueError(f"{value!r}: gcloud list flags cannot carry a comma")
    where = [f"--region={region}", f"--project={project}"]
    args = ",".join(["-m", MODULE, "github", *hook_args])
    deploy = ["gcloud", "run", "jobs", "deploy", job, f"--image={image}", *where]
    deploy += [f"--service-account={runtime_account}", "--command=python", f"--args={args}"]
    deploy += ["--tasks=1", "--max-retries=0", f"--task-timeout={TASK_TIMEOUT}"]
    if env:
        deploy.append("--set-env-vars=" + ",".join(f"{k}={v}" for k, v in sorted(env.items())))
    if secrets:
        pairs = ",".join(f"{name}={secret}:latest" for name, secret in sorted(secrets.items()))
        deploy.append(f"--set-secrets={pairs}")
    invoker = ["gcloud", "run", "jobs", "add-iam-policy-binding", job, *where]
    invoker += [f"--member=serviceAccount:{scheduler_account}", "--role=roles/run.invoker"]
    uri = (
        f"https://{region}-run.googleapis.com/apis/run.googleapis.com/v1/"
        f"namespaces/{project}/jobs/{job}:run"
    )
    scheduler = ["gcloud", "scheduler", "jobs"]
    place = [f"--location={region}", f"--project={project}"]
    create = [*scheduler, "create", "http", job, *place, f"--schedule={schedule}"]
    create += [f"--uri={uri}", "--http-method=POST"]
    create += [f"--oauth-service-account-email={scheduler_account}"]
    return [
        Step("# Catch-up: the job (created, or updated to these settings)", deploy),
        Step("# Catch-up: Cloud Scheduler may start it", invoker),
        Step("# Catch-up: every hour", create, [*scheduler, "describe", job, *place]),
    ]
