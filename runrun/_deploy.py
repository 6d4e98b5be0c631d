"""The gcloud commands that deploy the targets, derived from the targets themselves.

`run` mode: one Cloud Run service from the container serving every target; each event
target is reached at `/<target>` by a Pub/Sub push subscription (topic triggers) or an
Eventarc trigger (other events), both dead-lettering after `max_delivery_attempts`.
`functions` mode: one 2nd-gen Cloud Function per target, from the same source tree; every
event function is deployed with `--retry` (without it a failed run drops the event) and
its trigger's subscription dead-letters into the target's own topic.
Both start with `_deploy_project.foundation`: what an empty project needs first.
"""

from __future__ import annotations

from collections.abc import Iterable

from shared.processing._process import PROCESS_TARGET

from ._deploy_project import dead_letter_policy, dead_letter_topic, foundation
from ._deploy_settings import (
    DEFAULT_COMMAND_TOPIC,
    DEFAULT_TOPIC,
    RUNTIME,
    PlanSettings,
    all_secrets,
    ensure,
    processor_env,
    processor_secrets,
    pyproject_for,
    render,
    secrets_table,
)
from ._deploy_tasks import tasks_deploy_flags, tasks_foundation, tasks_service_settings
from ._discover import Target
from ._triggers import Trigger, is_event, triggers

MODES = ("run", "functions")

__all__ = [
    "DEFAULT_COMMAND_TOPIC",
    "DEFAULT_TOPIC",
    "MODES",
    "PlanSettings",
    "event_triggers",
    "plan",
    "is_event",
    "secrets_table",
]


def event_triggers(targets: Iterable[Target], settings: PlanSettings) -> list[Trigger]:
    targets = tuple(targets)
    found = triggers(targets, pyproject_for(targets, settings), default_topic=settings.topic)
    return [found[name] for name in sorted(found)]


def _set_secrets(envs: Iterable[str], settings: PlanSettings) -> list[str]:
    names = sorted(set(envs))
    if not names:
        return []
    return ["--set-secrets=" + ",".join(f"{n}={n}:{settings.secret_version}" for n in names)]


def push_audience(settings: PlanSettings) -> str:
    """The audience of the push subscription's OIDC tokens: a fixed name, because the
    service URL is only known after the deploy that must already carry it."""
    return f"{settings.service}-push"


def _env_vars(settings: PlanSettings, *, push_auth: bool = False) -> str:
    s = settings
    values = (
        f"GOOGLE_CLOUD_PROJECT={s.project},RUNRUN_TOPIC={s.topic},"
        f"RUNRUN_COMMAND_TOPIC={s.command_topic},"
        f"RUNRUN_IDEMPOTENCY_COLLECTION={s.idempotency_collection}" + processor_env(s)
    )
    if push_auth:
        # The service is public (webhook senders cannot authenticate to Google), so
        # process_delivery checks the push subscription's token itself.
        values += f",PUSH_AUDIENCE={push_audience(s)},PUSH_SERVICE_ACCOUNT={s.push_service_account}"
    return "--set-env-vars=" + values


def _eventarc_name(settings: PlanSettings, target: str) -> str:
    # Eventarc trigger ids: lowercase letters, digits and hyphens.
    return f"{settings.service}-{target}".replace("_", "-").lower()


def _event_filters(flag: str, trigger: Trigger) -> list[str]:
    pairs = [("type", trigger.event_type), *trigger.filters]
    return [f"{flag}={key}={value}" for key, value in pairs]


def _push_subscription(trigger: Trigger, settings: PlanSettings) -> list[str]:
    s = settings
    name = f"{s.service}-{trigger.target}-push"
    flags = [
        f"--push-endpoint=${{SERVICE_URL}}/{trigger.target}",
        f"--push-auth-service-account={s.push_service_account}",
        f"--push-auth-token-audience={push_audience(s)}",
        "--ack-deadline=60",
        "--min-retry-delay=10s",
        "--max-retry-delay=600s",
        f"--dead-letter-topic={dead_letter_topic(trigger.target)}",
        f"--max-delivery-attempts={s.max_delivery_attempts}",
        f"--project={s.project}",
    ]
    base = ["gcloud", "pubsub", "subscriptions"]
    describe = render([*base, "describe", name, f"--project={s.project}"])
    update = render([*base, "update", name, *flags])
    create = render([*base, "create", name, f"--topic={trigger.topic}", *flags])
    # An existing subscription is brought to these settings rather than left as it was.
    return [
        f"if {describe} >/dev/null 2>&1; then {update}; else {create}; fi",
        *dead_letter_policy(name, trigger, s)[1:],
    ]


def _eventarc_subscription(describe: list[str], trigger: Trigger, s: PlanSettings) -> list[str]:
    """Eventarc delivers through a Pub/Sub subscription of its own: dead-letter it too."""
    return [
        f"SUBSCRIPTION=$({render(describe)})",
        *dead_letter_policy("${SUBSCRIPTION}", trigger, s),
    ]


def _run_trigger(trigger: Trigger, settings: PlanSettings) -> list[str]:
    s = settings
    if trigger.is_topic:
        return _push_subscription(trigger, s)
    name = _eventarc_name(s, trigger.target)
    where = [f"--location={trigger.location or s.region}", f"--project={s.project}"]
    describe = ["gcloud", "eventarc", "triggers", "describe", name, *where]
    create = [
        "gcloud",
        "eventarc",
        "triggers",
        "create",
        name,
        *where,
        f"--destination-run-service={s.service}",
        f"--destination-run-region={s.region}",
        f"--destination-run-path=/{trigger.target}",
        *_event_filters("--event-filters", trigger),
        f"--service-account={s.push_service_account}",
    ]
    subscription = [*describe, "--format=value(transport.pubsub.subscription.basename())"]
    return [ensure(describe, create), *_eventarc_subscription(subscription, trigger, s)]


def run_plan(targets: tuple[Target, ...], settings: PlanSettings) -> list[str]:
    """One Cloud Run service for every target; a push subscription or Eventarc trigger per
    event target, routed to `/<target>`."""
    s = settings
    events = event_triggers(targets, s)
    secret_names = [*all_secrets(targets), *processor_secrets(s)]
    lines = foundation("run", events, s, secret_names)
    lines += tasks_foundation(s)
    if s.build_image:
        build = [
            "gcloud",
            "builds",
            "submit",
            ".",
            f"--tag={s.image}",
            "--ignore-file=.buildignore",
            f"--project={s.project}",
        ]
        lines += ["# The image, built from the Dockerfile", render(build)]
    deploy = [
        "gcloud",
        "run",
        "deploy",
        s.service,
        f"--image={s.image}",
        f"--project={s.project}",
        f"--region={s.region}",
        f"--concurrency={s.concurrency}",
        f"--service-account={s.runtime_service_account}",
        "--allow-unauthenticated",  # webhook senders cannot authenticate to Google
        _env_vars(s, push_auth=bool(events) or s.tasks),
        *_set_secrets(secret_names, s),
        *tasks_deploy_flags(s),
    ]
    lines += ["# The service", render(deploy)]
    if events or s.tasks:
        describe = [
            "gcloud",
            "run",
            "services",
            "describe",
            s.service,
            f"--project={s.project}",
            f"--region={s.region}",
            "--format=value(status.url)",
        ]
        lines += ["# Event targets, each routed to /<target>", f"SERVICE_URL=$({render(describe)})"]
    lines += tasks_service_settings(s)
    for trigger in events:
        lines += _run_trigger(trigger, s)
    return lines


def _function_trigger(trigger: Trigger | None, s: PlanSettings) -> list[str]:
    if trigger is None:
        return ["--trigger-http", "--allow-unauthenticated"]
    # --retry: without it a run that raises is never retried and its event is lost.
    flags = ["--retry", f"--trigger-service-account={s.push_service_account}"]
    if trigger.is_topic:
        return [f"--trigger-topic={trigger.topic}", *flags]
    location = [f"--trigger-location={trigger.location}"] if trigger.location else []
    return [*_event_filters("--trigger-event-filters", trigger), *location, *flags]


def functions_plan(targets: tuple[Target, ...], settings: PlanSettings) -> list[str]:
    """One 2nd-gen Cloud Function per target, each with only its own secret."""
    s = settings
    events = {t.target: t for t in event_triggers(targets, s)}
    secrets = secrets_table(targets)
    # Only the function that runs the processors reads their secrets.
    secrets[PROCESS_TARGET] = (*secrets.get(PROCESS_TARGET, ()), *processor_secrets(s))
    secret_names = [*all_secrets(targets), *processor_secrets(s)]
    lines = foundation("functions", list(events.values()), s, secret_names)
    lines.append("# One function per target")
    where = [f"--project={s.project}", f"--region={s.region}"]
    for target in targets:
        trigger = events.get(target.name)
        argv = [
            "gcloud",
            "functions",
            "deploy",
            target.name,
            "--gen2",
            f"--runtime={RUNTIME}",
            *where,
            "--source=.",
            f"--entry-point={target.name}",
            *_function_trigger(trigger, s),
            f"--service-account={s.runtime_service_account}",
            _env_vars(s),
            *_set_secrets(secrets.get(target.name, ()), s),
        ]
        lines.append(render(argv))
        if trigger is None:
            continue
        invoker = [
            "gcloud",
            "functions",
            "add-invoker-policy-binding",
            target.name,
            *where,
            f"--member=serviceAccount:{s.push_service_account}",
        ]
        describe = [
            "gcloud",
            "functions",
            "describe",
            target.name,
            *where,
            "--format=value(eventTrigger.trigger.basename())",
        ]
        subscription = [
            "gcloud",
            "eventarc",
            "triggers",
            "describe",
            "${TRIGGER}",
            f"--location={trigger.location or s.region}",
            f"--project={s.project}",
            "--format=value(transport.pubsub.subscription.basename())",
        ]
        lines += [render(invoker) + " >/dev/null", f"TRIGGER=$({render(describe)})"]
        lines += _eventarc_subscription(subscription, trigger, s)
    return lines


def plan(mode: str, targets: tuple[Target, ...], settings: PlanSettings) -> list[str]:
    """The shell lines deploying `targets` in `mode` ("run" or "functions")."""
    if mode == "run":
        return run_plan(targets, settings)
    if mode == "functions":
        return functions_plan(targets, settings)
    raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
