"""The gcloud commands that deploy the targets, derived from the targets themselves.

`run` mode: one Cloud Run service from the container serving every target, plus a Pub/Sub
push subscription per CloudEvent target (`process_delivery` is fed by RUNRUN_TOPIC).
`functions` mode: one 2nd-gen Cloud Function per target, from the same source tree.
Secrets come from one table, built from each target module's provider description
(`Provider(target=..., secret_env=...)`), so a new provider is deployed with its secret.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared import get_settings

from ._discover import CLOUDEVENT, EVENT, Target

MODES = ("run", "functions")
PROCESSOR = "process_delivery"
DEFAULT_TOPIC = "webhook-deliveries"
DEFAULT_COMMAND_TOPIC = "deploy-commands"
RUNTIME = "python312"


@dataclass(frozen=True)
class PlanSettings:
    """Where and how to deploy; values may be shell or Cloud Build substitutions."""

    project: str = "PROJECT_ID"
    region: str = "us-central1"
    service: str = "runrun"
    image: str = ""  # default: the project's Artifact Registry in `region`
    concurrency: int = 80
    secret_version: str = "latest"
    topic: str = DEFAULT_TOPIC
    command_topic: str = DEFAULT_COMMAND_TOPIC
    push_service_account: str = ""  # default: runrun-push@PROJECT.iam.gserviceaccount.com

    def __post_init__(self) -> None:
        # Derived defaults follow the project and region actually given.
        if not self.image:
            image = f"{self.region}-docker.pkg.dev/{self.project}/runrun/runrun:latest"
            object.__setattr__(self, "image", image)
        if not self.push_service_account:
            account = f"runrun-push@{self.project}.iam.gserviceaccount.com"
            object.__setattr__(self, "push_service_account", account)

    @classmethod
    def from_env(cls, **overrides: str | int) -> PlanSettings:
        env = get_settings()  # the settings module reads the environment
        values: dict[str, Any] = {
            "project": env.project or "PROJECT_ID",
            "topic": env.topic,
            "command_topic": env.command_topic,
        }
        values.update({k: v for k, v in overrides.items() if v not in (None, "")})
        return cls(**values)


def secret_envs(target: Target) -> tuple[str, ...]:
    """The env vars holding `target`'s secrets (signing secrets, keys, verify tokens), read
    from its module's provider object (`Provider.env_names`)."""
    module = sys.modules.get(target.module)
    for value in vars(module).values() if module is not None else ():
        if getattr(value, "target", None) == target.name:
            names = getattr(value, "env_names", None)
            if callable(names):
                names = names()
            if isinstance(names, tuple) and names:
                return tuple(str(n) for n in names)
            name = getattr(value, "secret_env", None)
            if isinstance(name, str) and name:
                return (name,)
    return ()


def secrets_table(targets: Iterable[Target]) -> dict[str, tuple[str, ...]]:
    """Target name -> its secret env vars, for every target that has any."""
    table = {t.name: secret_envs(t) for t in targets}
    return {name: envs for name, envs in table.items() if envs}


def all_secrets(targets: Iterable[Target]) -> list[str]:
    return sorted({env for envs in secrets_table(targets).values() for env in envs})


def is_event(target: Target) -> bool:
    """Fed by a topic: every CloudEvent target, and the processor (an HTTP target that
    parses its push envelope itself)."""
    return target.signature_type in (CLOUDEVENT, EVENT) or target.name == PROCESSOR


def trigger_topic(target: Target, settings: PlanSettings) -> str:
    """The topic feeding a CloudEvent target: the deliveries topic for the processor, else a
    topic named after the target."""
    return settings.topic if target.name == PROCESSOR else target.name


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
    values = (
        f"GOOGLE_CLOUD_PROJECT={settings.project},"
        f"RUNRUN_TOPIC={settings.topic},RUNRUN_COMMAND_TOPIC={settings.command_topic}"
    )
    if push_auth:
        # The service is public (webhook senders cannot authenticate to Google), so
        # process_delivery checks the push subscription's token itself.
        values += (
            f",PUSH_AUDIENCE={push_audience(settings)},"
            f"PUSH_SERVICE_ACCOUNT={settings.push_service_account}"
        )
    return "--set-env-vars=" + values


def _ensure_topic(topic: str, settings: PlanSettings) -> str:
    describe = ["gcloud", "pubsub", "topics", "describe", topic, f"--project={settings.project}"]
    create = ["gcloud", "pubsub", "topics", "create", topic, f"--project={settings.project}"]
    return f"{render(describe)} >/dev/null 2>&1 || {render(create)}"


def render(argv: list[str]) -> str:
    """A shell line; arguments holding `$` stay double-quoted so substitutions expand."""
    return " ".join(f'"{a}"' if "$" in a else shlex.quote(a) for a in argv)


def topics(targets: Iterable[Target], settings: PlanSettings) -> list[str]:
    wanted = [settings.topic, settings.command_topic]
    wanted += [trigger_topic(t, settings) for t in targets if is_event(t)]
    return list(dict.fromkeys(wanted))


def run_plan(targets: tuple[Target, ...], settings: PlanSettings) -> list[str]:
    """One Cloud Run service for every target, and a push subscription per event target."""
    s = settings
    lines = [_ensure_topic(topic, s) for topic in topics(targets, s)]
    deploy = [
        "gcloud",
        "run",
        "deploy",
        s.service,
        f"--image={s.image}",
        f"--project={s.project}",
        f"--region={s.region}",
        f"--concurrency={s.concurrency}",
        "--allow-unauthenticated",  # webhook senders cannot authenticate to Google
        _env_vars(s, push_auth=any(is_event(t) for t in targets)),
        *_set_secrets(all_secrets(targets), s),
    ]
    lines.append(render(deploy))
    events = [t for t in targets if is_event(t)]
    if events:
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
        lines.append(f"SERVICE_URL=$({render(describe)})")
    for target in events:
        name = f"{s.service}-{target.name}-push"
        create = [
            "gcloud",
            "pubsub",
            "subscriptions",
            "create",
            name,
            f"--project={s.project}",
            f"--topic={trigger_topic(target, s)}",
            f"--push-endpoint=${{SERVICE_URL}}{target.route}",
            f"--push-auth-service-account={s.push_service_account}",
            f"--push-auth-token-audience={push_audience(s)}",
            "--ack-deadline=60",
            "--min-retry-delay=10s",
            "--max-retry-delay=600s",
        ]
        describe = ["gcloud", "pubsub", "subscriptions", "describe", name]
        describe.append(f"--project={s.project}")
        lines.append(f"{render(describe)} >/dev/null 2>&1 || {render(create)}")
    return lines


def functions_plan(targets: tuple[Target, ...], settings: PlanSettings) -> list[str]:
    """One 2nd-gen Cloud Function per target, each with only its own secret."""
    s = settings
    secrets = secrets_table(targets)
    lines = [_ensure_topic(topic, s) for topic in topics(targets, s)]
    for target in targets:
        argv = [
            "gcloud",
            "functions",
            "deploy",
            target.name,
            "--gen2",
            f"--runtime={RUNTIME}",
            f"--project={s.project}",
            f"--region={s.region}",
            "--source=.",
            f"--entry-point={target.name}",
        ]
        if is_event(target):
            argv.append(f"--trigger-topic={trigger_topic(target, s)}")
        else:
            argv += ["--trigger-http", "--allow-unauthenticated"]
        argv.append(_env_vars(s))
        argv += _set_secrets(secrets.get(target.name, ()), s)
        lines.append(render(argv))
    return lines


def plan(mode: str, targets: tuple[Target, ...], settings: PlanSettings) -> list[str]:
    """The shell lines deploying `targets` in `mode` ("run" or "functions")."""
    if mode == "run":
        return run_plan(targets, settings)
    if mode == "functions":
        return functions_plan(targets, settings)
    raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
