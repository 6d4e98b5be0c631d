"""What the webhook library (`shared`) needs from a deploy, as `DeployNeeds`: the only
deploy module that imports it. A plain functions project without the library gets
`DeployNeeds()`: no topics, no Firestore, no processors.

Every setting the service reads is carried into the deploy from the environment the plan
is made in (`CARRIED`), because `--set-env-vars` replaces every variable on each deploy
(cloud.google.com/run/docs/configuring/services/environment-variables): a setting left out
would be switched off by the next deploy. `NOT_CARRIED` lists, with the reason, the ones a
deployed service must not get from a developer's environment; a test holds every variable
the settings read to one list or the other.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .._discover import Target
from ._needs import DeployNeeds, QueueNeeds, ScheduledNeeds
from ._settings import PlanSettingsError

if TYPE_CHECKING:
    from shared.settings import QueueSettings, Settings

PROCESS_TARGET = "process_delivery"
NOTIFY_ROUTES_SECRET = "RUNRUN_NOTIFY_ROUTES"  # JSON: mounted as a secret, not a variable
METRICS_TOKEN_SECRET = "RUNRUN_METRICS_TOKEN"
DEFAULT_QUEUE = "runrun-deliveries"

CARRIED = (
    "RUNRUN_STORE",
    "RUNRUN_QUEUE",
    "RUNRUN_MAX_BODY_BYTES",
    "RUNRUN_KEY_TTL_SECONDS",
    "RUNRUN_LEASE_SECONDS",
    "RUNRUN_DEADLINE_SECONDS",
    "RUNRUN_RETRY_AFTER_SECONDS",
    "RUNRUN_TIMESTAMP_TOLERANCE_SECONDS",
    "RUNRUN_EVENTS_COLLECTION",
    "RUNRUN_RELAY_URL",
    "RUNRUN_PROCESSORS",
    "RUNRUN_DEPLOY_VIA",
    "RUNRUN_CLOUDBUILD_TRIGGERS",
    "RUNRUN_CLOUDBUILD_PROJECT",
    "RUNRUN_CLOUDBUILD_REGION",
    "RUNRUN_CLOUDBUILD_SERVICE_ACCOUNT",
    "RUNRUN_CLOUDBUILD_TIMEOUT_SECONDS",
    "RUNRUN_DIALOGFLOW_SECRET_HEADER",
    "DIALOGFLOW_AUDIENCE",
    "DIALOGFLOW_SERVICE_AGENT",
    "RUNRUN_DIALOGFLOW_BUDGET_SECONDS",
    "RUNRUN_DIALOGFLOW_FALLBACK_TEXT",
    "RUNRUN_TARGET_QUEUES",
    "RUNRUN_QUEUE_RATE",
    "RUNRUN_QUEUE_MAX_CONCURRENT",
    "RUNRUN_QUEUE_MIN_BACKOFF_SECONDS",
    "RUNRUN_QUEUE_MAX_BACKOFF_SECONDS",
    "RUNRUN_NOTIFY_DRY_RUN",
    "RUNRUN_FCM_TIMEOUT_SECONDS",
    "RUNRUN_BIGQUERY_TABLE",
    "RUNRUN_BIGQUERY_EVENTS",
    "RUNRUN_BIGQUERY_TIMEOUT_SECONDS",
    "RUNRUN_INSPECT",
    "RUNRUN_TRACES",
    "RUNRUN_TRACES_LINK",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "RUNRUN_METRICS",
    "RUNRUN_METRICS_EXPORT",
    "RUNRUN_METRICS_EXPORT_INTERVAL_SECONDS",
)
CARRIED_PREFIXES = ("RUNRUN_DEADLINE_SECONDS_",)
NOT_CARRIED = {
    "RUNRUN_DEV": "dev mode is refused on Cloud Run",
    "RUNRUN_STATE_DIR": "the container sets its own",
    "RUNRUN_INSPECT_TOKEN": "a secret: never a plain variable",
    "RUNRUN_METRICS_TOKEN": "mounted from Secret Manager when RUNRUN_METRICS=1",
    "RUNRUN_METRICS_EXPORT_ENDPOINT": "a local stand-in's",
    "RUNRUN_ALERT_ERROR_SHARE": "an alert policy's threshold, read by the setup plan",
    "RUNRUN_ALERT_PROCESSOR_FAILURES": "an alert policy's threshold, read by the setup plan",
    "RUNRUN_NOTIFY_ROUTES": "mounted from Secret Manager",
    "RUNRUN_NOTIFY_ROUTES_FILE": "a local path: the service reads the table from Secret Manager",
    "RUNRUN_BATCH_SIZES_DIR": "the benchmark's",
    "RUNRUN_CLOUDBUILD_ENDPOINT": "a local stand-in's",
    "RUNRUN_COMMAND_TOPIC": "set by the plan",
    "RUNRUN_TOPIC": "set by the plan",
    "RUNRUN_IDEMPOTENCY_COLLECTION": "set by the plan",
    "RUNRUN_QUEUE_MAX_ATTEMPTS": "set by the plan (the Cloud Tasks queue's)",
    "RUNRUN_TASKS_QUEUE": "set by the plan",
    "RUNRUN_TASKS_URL": "set by the plan (the service's deterministic URL)",
    "RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS": "set by the plan",
    "CLOUD_TASKS_EMULATOR_HOST": "an emulator's",
    "FIRESTORE_EMULATOR_HOST": "an emulator's",
    "PUBSUB_EMULATOR_HOST": "an emulator's",
    "BIGQUERY_EMULATOR_HOST": "an emulator's",
    "PUSH_SERVICE_ACCOUNT": "set by the plan",
    "PUSH_AUDIENCE": "set by the plan",
    "K_SERVICE": "set by Cloud Run",
    # With RUNRUN_TRACES=on the service sends spans to Cloud Trace itself.
    "OTEL_EXPORTER_OTLP_ENDPOINT": "a collector on this machine, not the service's",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "a collector (or a stand-in) on this machine",
}


def uses_library(targets: Iterable[Target]) -> bool:
    """True when a target's module was loaded with the webhook library."""
    return "shared" in sys.modules and any(t.name == PROCESS_TARGET for t in targets)


def bundle_needs(targets: tuple[Target, ...], project: str, region: str) -> DeployNeeds:
    """What the webhook library needs for `targets`, from its settings (the environment)."""
    if not uses_library(targets):
        return DeployNeeds()
    from shared import get_settings
    from shared.metrics import alert_needs
    from shared.processors.bigquery import BigQuerySettings
    from shared.processors.deploy_staging import DeploySettings

    settings = get_settings()
    queue_settings, store = settings.queue, settings.store
    deploy = DeploySettings.from_env(settings)
    table = BigQuerySettings.from_env(settings).table
    apis, roles, account_roles = runtime_access(settings, project)
    variables = {
        "GOOGLE_CLOUD_PROJECT": project,
        "RUNRUN_TOPIC": queue_settings.topic,
        "RUNRUN_COMMAND_TOPIC": deploy.command_topic,
        "RUNRUN_IDEMPOTENCY_COLLECTION": store.idempotency_collection,
        **carried_env(),
    }
    setup = bigquery_setup(table, project, region) if table else []
    queue = tasks_queue(queue_settings) if "tasks" in queue_settings.queues_used else None
    if queue is not None:
        apis.append("cloudtasks.googleapis.com")
    alerts = alert_needs(settings, receiving_deadlines(targets, settings))
    catch_up = catch_up_needs(project, region, store.idempotency_collection)
    apis += catch_up.get("apis", [])
    return DeployNeeds(
        apis=tuple(apis),
        secrets=service_secrets(targets, settings),
        env=variables,
        published_topics=(queue_settings.topic, deploy.command_topic),
        event_topics={PROCESS_TARGET: queue_settings.topic},
        project_roles=tuple(roles),
        account_roles=tuple(account_roles),
        firestore_ttl=(store.idempotency_collection, "expire_at"),
        queue=queue,
        dead_letter_publisher=PROCESS_TARGET if queue is not None else "",
        setup_lines=tuple(setup),
        log_metrics=tuple(alerts["log_metrics"]),
        alert_policies=tuple(alerts["alert_policies"]),
        scheduled=ScheduledNeeds.from_mapping(catch_up["scheduled"]) if catch_up else None,
    )


def catch_up_needs(project: str, region: str, collection: str) -> dict[str, Any]:
    """The hourly `catch-up github` job, when its settings are there (docs/catch-up.md)."""
    from shared.catchup import CatchUpError, scheduled_needs

    try:
        return scheduled_needs(os.environ, project=project, region=region, collection=collection)
    except CatchUpError as exc:
        raise PlanSettingsError(exc.message) from None


Grants = tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]


def runtime_access(settings: Settings, project: str) -> Grants:
    """The APIs the configured features call, the runtime account's project roles and its
    roles on other accounts: each only when a configured feature needs it."""
    from shared.processors.bigquery import BigQuerySettings
    from shared.processors.deploy_staging import DeploySettings
    from shared.processors.notify import NotifySettings

    deploy = DeploySettings.from_env(settings)
    apis = ["firestore.googleapis.com", "pubsub.googleapis.com"]
    roles = [(project, "roles/datastore.user")]
    account_roles: list[tuple[str, str]] = []
    if settings.metrics.exported:  # the figures sent to Cloud Monitoring
        roles.append((project, "roles/monitoring.metricWriter"))
    if NotifySettings.from_env(settings).routes:
        apis.append("fcm.googleapis.com")
        roles.append((project, "roles/firebasecloudmessaging.admin"))
    if deploy.triggers and deploy.via == "cloudbuild":
        # deploy-staging runs triggers (triggers:run is builds.create) and lists builds;
        # only when triggers are configured (a runtime able to start builds is a risk).
        apis.append("cloudbuild.googleapis.com")
        roles.append((deploy.project or project, "roles/cloudbuild.builds.editor"))
        if deploy.service_account:  # Cloud Build checks actAs on the trigger's account
            account_roles.append((deploy.service_account, "roles/iam.serviceAccountUser"))
    if os.environ.get("RUNRUN_TRACES", "").strip().lower() in ("on", "cloud-trace"):
        # On Cloud Run both send spans to Cloud Trace through the Telemetry (OTLP) API
        # (cloud.google.com/iam/docs/roles-permissions/telemetry: telemetry.traces.write).
        apis += ["telemetry.googleapis.com", "cloudtrace.googleapis.com"]
        roles.append((project, "roles/telemetry.tracesWriter"))
    if BigQuerySettings.from_env(settings).table:
        apis.append("bigquery.googleapis.com")
    return apis, roles, account_roles


def service_secrets(targets: Iterable[Target], settings: Settings) -> dict[str, tuple[str, ...]]:
    """Each target's secrets, and the processing target's own: the routing table when
    notify is configured, the metrics token when /_runrun/metrics is on outside dev mode."""
    from shared.processors.notify import NotifySettings

    secrets = secrets_table(targets)
    extra = []
    if NotifySettings.from_env(settings).routes:
        extra.append(NOTIFY_ROUTES_SECRET)
    if settings.metrics.switch:
        extra.append(METRICS_TOKEN_SECRET)
    if extra:
        secrets[PROCESS_TARGET] = (*secrets.get(PROCESS_TARGET, ()), *extra)
    return secrets


def carried_env() -> dict[str, str]:
    """The service's settings set in this environment (see the module's docstring)."""
    found = {name: os.environ[name] for name in CARRIED if os.environ.get(name, "").strip()}
    for name in sorted(os.environ):
        if name.startswith(CARRIED_PREFIXES) and os.environ[name].strip():
            found[name] = os.environ[name]
    return found


def tasks_queue(settings: QueueSettings) -> QueueNeeds:
    queue = (settings.tasks_queue or "").rsplit("/", 1)[-1] or DEFAULT_QUEUE
    return QueueNeeds(
        queue=queue,
        rate=settings.rate,
        max_concurrent=settings.max_concurrent,
        min_backoff=max(settings.min_backoff_seconds, 1.0),
        max_backoff=600.0,
        dispatch_deadline=settings.tasks_dispatch_deadline_seconds,
        env={
            "RUNRUN_TASKS_QUEUE": "{queue_path}",
            "RUNRUN_TASKS_URL": "{url}/" + PROCESS_TARGET,
            "RUNRUN_QUEUE_MAX_ATTEMPTS": "{max_attempts}",
            "RUNRUN_TASKS_DISPATCH_DEADLINE_SECONDS": str(settings.tasks_dispatch_deadline_seconds),
        },
    )


def bigquery_setup(table: str, project: str, region: str) -> list[str]:
    """The table's dataset (created when missing) and the runtime's right to write rows
    into it. insertAll runs no job, so no bigquery.jobUser."""
    from ._shell import ensure, render

    parts = table.split(".")
    dataset = f"{parts[0] if len(parts) == 3 else project}:{parts[-2]}"
    bq = ["bq", f"--project_id={project}"]
    runtime = "serviceAccount:${RUNTIME_EMAIL}"
    editor = [
        *bq,
        "add-iam-policy-binding",
        f"--member={runtime}",
        "--role=roles/bigquery.dataEditor",
        "--dataset",
        dataset,
    ]
    return [
        f"# bigquery: rows into {table} (the table is created by the code)",
        ensure(
            [*bq, "show", "--dataset", dataset],
            [*bq, f"--location={region}", "mk", "--dataset", dataset],
        ),
        "runrun_retry " + render(editor) + " >/dev/null",
    ]


def secrets_table(targets: Iterable[Target]) -> dict[str, tuple[str, ...]]:
    """Target name -> the env vars of its secrets, for every target that has any."""
    table = {t.name: secret_envs(t) for t in targets}
    return {name: envs for name, envs in table.items() if envs}


def receiving_deadlines(targets: Iterable[Target], settings: Settings) -> dict[str, float]:
    """Each receiving target's deadline (its provider's answer window less the margin, or
    its override): where its latency alert stands."""
    from shared.providers import description_of

    found = {}
    for target in targets:
        described = description_of(target.function)
        if described is not None:
            window = getattr(described, "answer_window_seconds", None)
            found[target.name] = settings.receive.deadline_for(target.name, window)
    return found


def secret_envs(target: Target) -> tuple[str, ...]:
    """The env vars holding `target`'s secrets, from the provider description it carries."""
    from shared.providers import description_of

    described = description_of(target.function)
    return described.env_names if described is not None else ()
