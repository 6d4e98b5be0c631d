"""The jobs a library runs on a schedule (`DeployNeeds.scheduled`), in the one-time setup:
its steps, with the deploy's image and accounts filled in, each describe-or-create or a
command that converges by itself, after the first deploy (a job runs the service's image,
which exists only then: the one the service runs, read from it).

The setup plan owns them, not the per-commit deploy: a Cloud Scheduler job that starts a
Cloud Run job needs its caller to act as the scheduler's account
(cloud.google.com/scheduler/docs/http-target-auth) and to set the job's IAM policy
(cloud.google.com/run/docs/execute/jobs-on-schedule), grants the per-commit build account
must not hold. A job runs the image it was deployed with: running the setup again moves it
to the newest image.
"""

from __future__ import annotations

from ._settings import PlanSettings, PlanSettingsError
from ._shell import ensure, render, retried

# The image of the service's serving revision (a Service's spec in Cloud Run's Admin API v1,
# cloud.google.com/run/docs/reference/rest/v1/namespaces.services).
SERVICE_IMAGE = "value(spec.template.spec.containers[0].image)"


def check_scheduled(mode: str, s: PlanSettings) -> None:
    if mode == "functions" and s.needs.scheduled is not None:
        raise PlanSettingsError(
            "scheduled jobs (RUNRUN_CATCHUP_GITHUB) run the service's image, which only run "
            "mode builds: deploy with --mode run, or run `runrun catch-up github` yourself"
        )


def scheduled_jobs(s: PlanSettings) -> list[str]:
    scheduled = s.needs.scheduled
    if scheduled is None:
        return []
    values = {
        "{image}": "${JOB_IMAGE}",
        "{runtime_email}": s.runtime_email,
        "{scheduler_email}": s.scheduler_email,
    }

    def filled(command: tuple[str, ...]) -> list[str]:
        found = []
        for arg in command:
            for placeholder, value in values.items():
                arg = arg.replace(placeholder, value)
            found.append(arg)
        return found

    where = [f"--region={s.region}", f"--project={s.project}", f"--format={SERVICE_IMAGE}"]
    describe = ["gcloud", "run", "services", "describe", s.service, *where]
    lines = [f"JOB_IMAGE=$({render(describe)})"]
    for step in scheduled.steps:
        lines.append(step.comment if step.comment.startswith("#") else f"# {step.comment}")
        if step.describe is not None:  # the scheduler's account may still be propagating
            lines.append(ensure(filled(step.describe), filled(step.apply), retried=True))
        else:
            lines.append(retried(filled(step.apply)))
    return lines
