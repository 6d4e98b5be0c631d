"""Run mode: one Cloud Run service serving every target.

The per-commit deploy is one `gcloud run deploy` carrying every setting: the image, the
runtime account, the Cloud Run settings, every variable (`--set-env-vars` replaces them
all, so the plan passes all of them) and every secret. The Cloud Tasks URL is the service's
deterministic URL, known before the first deploy, so the first revision already has it.

The setup makes the service public by turning the invoker IAM check off, Google's
recommended way, which a domain-restricted sharing organisation policy allows where an
`allUsers` binding is refused (cloud.google.com/run/docs/authenticating/public); event
targets then check the push or Eventarc token themselves (runrun/_event_auth.py). It then
routes each event target: a push subscription, or an Eventarc trigger (whose Cloud Run
destination must exist, so this comes after the first deploy).
"""

from __future__ import annotations

import re

from ._pubsub import eventarc_subscription, push_subscription
from ._settings import PlanSettings, PlanSettingsError
from ._shell import ensure, render
from ._tasks import queue_env
from ._triggers import Trigger

# Eventarc trigger ids: lowercase letters, digits and hyphens, starting with a letter.
_EVENTARC_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")


def env_vars(env: dict[str, str]) -> str:
    """`--set-env-vars` for `env`, split at a delimiter no value holds (gcloud's `^D^`
    syntax), since values such as RUNRUN_TARGET_QUEUES hold commas."""
    for delimiter in (",", ";", "@", "|", "#"):
        if not any(delimiter in f"{k}={v}" for k, v in env.items()):
            break
    items = delimiter.join(f"{k}={v}" for k, v in sorted(env.items()))
    prefix = "" if delimiter == "," else f"^{delimiter}^"
    return f"--set-env-vars={prefix}{items}"


def set_secrets(names: list[str], s: PlanSettings) -> list[str]:
    if not names:
        return []
    return ["--set-secrets=" + ",".join(f"{n}={n}:{s.secret_version}" for n in sorted(set(names)))]


def service_env(s: PlanSettings, events: bool) -> dict[str, str]:
    """Every variable of the service: the library's, its queue's, and the push token
    check of event targets (audiences: the subscriptions' and Eventarc's, the URL)."""
    env = {**s.needs.env, **queue_env(s)}
    if events or s.needs.queue is not None:
        # Eventarc's tokens carry the service's URL: the deterministic one, and the one
        # Cloud Run reports once the service exists (${SERVICE_URL}, read before deploying).
        env["PUSH_AUDIENCE"] = f"{s.push_audience},{s.url}${{SERVICE_URL:+,$SERVICE_URL}}"
        env["PUSH_SERVICE_ACCOUNT"] = s.push_email
    return env


def run_deploy(s: PlanSettings, events: bool) -> list[str]:
    """The per-commit deploy: one command, every setting."""
    timeout = s.timeout
    if s.needs.queue is not None:  # Cloud Run must not cut a task Cloud Tasks still waits for
        timeout = max(timeout, s.needs.queue.dispatch_deadline)
    argv = [
        "gcloud",
        "run",
        "deploy",
        s.service,
        f"--image={s.image}",
        f"--project={s.project}",
        f"--region={s.region}",
        f"--service-account={s.runtime_email}",
        f"--concurrency={s.concurrency}",
        "--cpu-boost" if s.cpu_boost else "--no-cpu-boost",
        f"--min-instances={s.min_instances}",
        f"--max-instances={s.max_instances}",
        f"--memory={s.memory}",
        f"--timeout={timeout}",
    ]
    env = service_env(s, events)
    if env:
        argv.append(env_vars(env))
    argv += set_secrets(s.needs.all_secrets(), s)
    lines = ["# The service: every setting in one deploy"]
    if "PUSH_AUDIENCE" in env:
        where = [f"--region={s.region}", f"--project={s.project}", "--format=value(status.url)"]
        describe = ["gcloud", "run", "services", "describe", s.service, *where]
        lines.append(f"SERVICE_URL=$({render(describe)} 2>/dev/null || true)")
    return [*lines, render(argv)]


def eventarc_name(s: PlanSettings, target: str) -> str:
    name = f"{s.service}-{target}".replace("_", "-").lower()
    if not _EVENTARC_ID.fullmatch(name):
        raise PlanSettingsError(
            f"Eventarc trigger id {name!r} (from service {s.service!r} and target {target!r}) "
            "must be lowercase letters, digits and hyphens, starting with a letter"
        )
    return name


def _event_filters(flag: str, trigger: Trigger) -> list[str]:
    pairs = [("type", trigger.event_type), *trigger.filters]
    return [f"{flag}={key}={value}" for key, value in pairs]


def _eventarc(trigger: Trigger, s: PlanSettings) -> list[str]:
    name = eventarc_name(s, trigger.target)
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
        f"--service-account={s.push_email}",
    ]
    subscription = [*describe, "--format=value(transport.pubsub.subscription.basename())"]
    # The first trigger of a project may fail while Eventarc's agent is provisioned.
    return [
        ensure(describe, create, retried=True),
        *eventarc_subscription(subscription, trigger, s),
    ]


def run_wiring(events: list[Trigger], s: PlanSettings) -> list[str]:
    """After the service exists: public access, and each event target's route."""
    where = [f"--region={s.region}", f"--project={s.project}"]
    public = ["gcloud", "run", "services", "update", s.service, "--no-invoker-iam-check", *where]
    lines = [
        "# Public without an allUsers binding; event targets check their tokens",
        render(public) + " >/dev/null",
    ]
    if events:
        lines.append("# Event targets, each routed to /<target>")
    for trigger in events:
        lines += push_subscription(trigger, s) if trigger.is_topic else _eventarc(trigger, s)
    return lines


def service_exists(s: PlanSettings) -> str:
    describe = [
        "gcloud",
        "run",
        "services",
        "describe",
        s.service,
        f"--region={s.region}",
        f"--project={s.project}",
    ]
    return f"{render(describe)} >/dev/null 2>&1 || FIRST_DEPLOY=1"
