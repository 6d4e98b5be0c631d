"""The Cloud Tasks part of a run-mode plan (when the settings hand deliveries to Cloud
Tasks): the API, the queue with its dispatch limits and retry settings, the roles, and the
service's settings for it.

Cloud Tasks has no queue-wide dispatch deadline: each task carries its own (the service's
RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS), and the service's request timeout is raised to it,
so Cloud Run never cuts off a run that Cloud Tasks still waits for.
"""

from __future__ import annotations

from ._deploy_settings import PlanSettings, render

API = "cloudtasks.googleapis.com"


def queue_path(s: PlanSettings) -> str:
    return f"projects/{s.project}/locations/{s.region}/queues/{s.tasks_queue}"


def _queue_flags(s: PlanSettings) -> list[str]:
    return [
        f"--location={s.region}",
        f"--max-dispatches-per-second={s.queue_rate:g}",
        f"--max-concurrent-dispatches={s.queue_max_concurrent}",
        f"--max-attempts={s.queue_max_attempts}",
        f"--min-backoff={s.queue_min_backoff:g}s",
        f"--max-backoff={s.queue_max_backoff:g}s",
        f"--project={s.project}",
    ]


def tasks_foundation(s: PlanSettings) -> list[str]:
    """The API and the queue (created, or brought to these settings), and the runtime
    account's right to create tasks that carry the push account's token."""
    if not s.tasks:
        return []
    base = ["gcloud", "tasks", "queues"]
    where = [f"--location={s.region}", f"--project={s.project}"]
    describe = render([*base, "describe", s.tasks_queue, *where])
    update = render([*base, "update", s.tasks_queue, *_queue_flags(s)])
    create = render([*base, "create", s.tasks_queue, *_queue_flags(s)])
    runtime = f"serviceAccount:{s.runtime_service_account}"
    enqueuer = [
        *base,
        "add-iam-policy-binding",
        s.tasks_queue,
        f"--member={runtime}",
        "--role=roles/cloudtasks.enqueuer",
        *where,
    ]
    act_as = [
        "gcloud",
        "iam",
        "service-accounts",
        "add-iam-policy-binding",
        s.push_service_account,
        f"--member={runtime}",
        "--role=roles/iam.serviceAccountUser",
        f"--project={s.project}",
    ]
    return [
        "# Cloud Tasks: the queue, its limits and retries; the runtime may enqueue tasks",
        render(["gcloud", "services", "enable", API, f"--project={s.project}"]),
        f"if {describe} >/dev/null 2>&1; then {update}; else {create}; fi",
        render(enqueuer) + " >/dev/null",
        # Tasks carry an OIDC token of the push account, which the runtime must act as.
        render(act_as) + " >/dev/null",
    ]


def tasks_deploy_flags(s: PlanSettings) -> list[str]:
    """Flags of `gcloud run deploy` in Cloud Tasks mode: a request timeout as long as a
    task's dispatch deadline."""
    return [f"--timeout={s.dispatch_deadline}"] if s.tasks else []


def tasks_service_settings(s: PlanSettings) -> list[str]:
    """After the deploy (the service URL is known only then): where tasks are sent, and the
    push account's right to call the service."""
    if not s.tasks:
        return []
    where = [f"--region={s.region}", f"--project={s.project}"]
    values = [
        f"RUNRUN_TASKS_QUEUE={queue_path(s)}",
        "RUNRUN_TASKS_URL=${SERVICE_URL}/process_delivery",
        f"RUNRUN_QUEUE_RATE={s.queue_rate:g}",
        f"RUNRUN_QUEUE_MAX_ATTEMPTS={s.queue_max_attempts}",
        f"RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS={s.dispatch_deadline}",
    ]
    if s.queue_choice:
        values.append(f"RUNRUN_QUEUE={s.queue_choice}")
    if s.target_queues:
        values.append(f"RUNRUN_TARGET_QUEUES={s.target_queues}")
    # `^;^`: the list is split at `;`, since RUNRUN_TARGET_QUEUES holds commas itself.
    flag = "--update-env-vars=^;^" + ";".join(values)
    update = ["gcloud", "run", "services", "update", s.service, *where]
    invoker = [
        "gcloud",
        "run",
        "services",
        "add-iam-policy-binding",
        s.service,
        f"--member=serviceAccount:{s.push_service_account}",
        "--role=roles/run.invoker",
        *where,
    ]
    return [
        "# Cloud Tasks mode: the service sends tasks to its own /process_delivery",
        render([*update, flag]),
        render(invoker) + " >/dev/null",
    ]
