"""Functions mode: one 2nd-gen Cloud Function per target, from the same source tree.

The per-commit deploy is one `gcloud functions deploy` per target, naming its build
service account (new projects may otherwise build with a default account lacking
permissions: cloud.google.com/functions/docs/securing/build-custom-sa). Every event
function gets `--retry` (without it a run that raises drops its event) and the push
account as its trigger's identity. No function is deployed with `--allow-unauthenticated`:
its `allUsers` binding is refused under a domain-restricted sharing policy, and the deploy
then exits 1 (cloud.google.com/run/docs/authenticating/public); the setup instead turns
the invoker IAM check off on each HTTP function's Cloud Run service.
"""

from __future__ import annotations

from .._discover import Target
from ._pubsub import eventarc_subscription
from ._run import env_vars, set_secrets
from ._settings import RUNTIME, PlanSettings
from ._shell import render, retried
from ._triggers import Trigger


def _where(s: PlanSettings) -> list[str]:
    return [f"--project={s.project}", f"--region={s.region}"]


def _trigger_flags(trigger: Trigger | None, s: PlanSettings) -> list[str]:
    if trigger is None:
        return ["--trigger-http"]
    # --retry: without it a run that raises is never retried and its event is lost.
    flags = ["--retry", f"--trigger-service-account={s.push_email}"]
    if trigger.is_topic:
        return [f"--trigger-topic={trigger.topic}", *flags]
    pairs = [("type", trigger.event_type), *trigger.filters]
    location = [f"--trigger-location={trigger.location}"] if trigger.location else []
    return [*(f"--trigger-event-filters={k}={v}" for k, v in pairs), *location, *flags]


def functions_deploy(
    targets: tuple[Target, ...], events: dict[str, Trigger], s: PlanSettings
) -> list[str]:
    """The per-commit deploy: every function with every setting, each with only its own
    secrets."""
    lines = ["# One function per target"]
    build = f"projects/{s.project}/serviceAccounts/{s.build_email}"
    for target in targets:
        argv = [
            "gcloud",
            "functions",
            "deploy",
            target.name,
            "--gen2",
            f"--runtime={RUNTIME}",
            *_where(s),
            "--source=.",
            f"--entry-point={target.name}",
            *_trigger_flags(events.get(target.name), s),
            f"--service-account={s.runtime_email}",
            f"--build-service-account={build}",
            f"--memory={s.memory}",
            f"--timeout={s.timeout}",
            f"--min-instances={s.min_instances}",
            f"--max-instances={s.max_instances}",
        ]
        if s.needs.env:
            argv.append(env_vars(dict(s.needs.env)))
        argv += set_secrets(list(s.needs.secrets.get(target.name, ())), s)
        lines.append(render(argv))
    return lines


def functions_exist(targets: tuple[Target, ...], s: PlanSettings) -> list[str]:
    return [
        render(["gcloud", "functions", "describe", t.name, *_where(s)])
        + " >/dev/null 2>&1 || FIRST_DEPLOY=1"
        for t in targets
    ]


def functions_wiring(
    targets: tuple[Target, ...], events: dict[str, Trigger], s: PlanSettings
) -> list[str]:
    """After the functions exist: HTTP functions public without an allUsers binding, event
    functions invoked by the push account only, their subscriptions dead-lettered."""
    lines = ["# Public HTTP functions; event functions for the push account only"]
    for target in targets:
        trigger = events.get(target.name)
        describe = ["gcloud", "functions", "describe", target.name, *_where(s)]
        if trigger is None:
            service = [*describe, "--format=value(serviceConfig.service.basename())"]
            update = [
                "gcloud",
                "run",
                "services",
                "update",
                "${RUN_SERVICE}",
                "--no-invoker-iam-check",
                f"--region={s.region}",
                f"--project={s.project}",
            ]
            lines += [f"RUN_SERVICE=$({render(service)})", render(update) + " >/dev/null"]
            continue
        invoker = [
            "gcloud",
            "functions",
            "add-invoker-policy-binding",
            target.name,
            *_where(s),
            f"--member=serviceAccount:{s.push_email}",
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
        lines += [
            retried(invoker),
            f"TRIGGER=$({render([*describe, '--format=value(eventTrigger.trigger.basename())'])})",
            *eventarc_subscription(subscription, trigger, s),
        ]
    return lines
