"""What a deploy plan is made from: where to deploy (`PlanSettings`), each target's secrets
(read from its module's provider description) and the shell rendering of a command."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared import Settings, get_settings

from ._discover import Target

DEFAULT_TOPIC = "webhook-deliveries"
DEFAULT_COMMAND_TOPIC = "deploy-commands"
DEFAULT_IDEMPOTENCY_COLLECTION = "idempotency_keys"
RUNTIME = "python312"
# Shell variables the plan sets and reads (Cloud Build must not expand them: see _cloudbuild).
SHELL_VARS = (
    "SERVICE_URL",
    "PUBSUB_AGENT",
    "STORAGE_AGENT",
    "TRIGGER",
    "SUBSCRIPTION",
    "MISSING_SECRETS",
)


@dataclass(frozen=True)
class PlanSettings:
    """Where and how to deploy; values may be shell or Cloud Build substitutions."""

    project: str = "PROJECT_ID"
    region: str = "us-central1"
    service: str = "runrun"
    repository: str = "runrun"  # the Artifact Registry repository of the image
    image: str = ""  # default: the project's Artifact Registry in `region`
    concurrency: int = 80
    secret_version: str = "latest"
    topic: str = DEFAULT_TOPIC
    command_topic: str = DEFAULT_COMMAND_TOPIC
    idempotency_collection: str = DEFAULT_IDEMPOTENCY_COLLECTION
    firestore_location: str = ""  # default: `region`
    runtime_service_account: str = ""  # default: runrun-runtime@PROJECT.iam.gserviceaccount.com
    push_service_account: str = ""  # default: runrun-push@PROJECT.iam.gserviceaccount.com
    # deploy-staging: "cloudbuild" runs the triggers of `cloudbuild_project` (default: the
    # project), as `cloudbuild_service_account` when the triggers run as one; "topic" only
    # publishes on the command topic.
    deploy_via: str = "cloudbuild"
    cloudbuild_project: str = ""
    cloudbuild_service_account: str = ""
    # Pub/Sub allows 5..100; with 10..600 s backoff, 10 attempts span about 40 minutes.
    max_delivery_attempts: int = 10
    pyproject: Path | None = None  # the [tool.runrun.triggers] file; default: beside the source
    build_image: bool = True  # run mode: build the image with Cloud Build before deploying
    # The optional processors, from the settings: what they need is added only when set.
    notify: bool = False  # a notify routing table is configured
    bigquery_table: str = ""  # RUNRUN_BIGQUERY_TABLE: dataset.table or project.dataset.table
    # Cloud Tasks (run mode, when the settings hand deliveries to it): the queue id, the
    # RUNRUN_QUEUE / RUNRUN_TARGET_QUEUES to give the service, the queue's limits.
    tasks: bool = False
    tasks_queue: str = "runrun-deliveries"
    queue_choice: str = ""
    target_queues: str = ""
    queue_rate: float = 500.0
    queue_max_concurrent: int = 1000
    queue_max_attempts: int = 5
    queue_min_backoff: float = 0.5
    queue_max_backoff: float = 60.0
    dispatch_deadline: int = 600

    def __post_init__(self) -> None:
        # Derived defaults follow the project and region actually given.
        defaults = {
            "image": f"{self.region}-docker.pkg.dev/{self.project}/{self.repository}/runrun:latest",
            "firestore_location": self.region,
            "runtime_service_account": f"runrun-runtime@{self.project}.iam.gserviceaccount.com",
            "push_service_account": f"runrun-push@{self.project}.iam.gserviceaccount.com",
            "cloudbuild_project": self.project,
        }
        for name, value in defaults.items():
            if not getattr(self, name):
                object.__setattr__(self, name, value)
        if not 5 <= self.max_delivery_attempts <= 100:
            raise ValueError("max_delivery_attempts must be 5..100 (Pub/Sub's range)")

    @classmethod
    def from_env(cls, **overrides: Any) -> PlanSettings:
        env = get_settings()  # the settings module reads the environment
        values: dict[str, Any] = {
            "project": env.project or "PROJECT_ID",
            "topic": env.topic,
            "command_topic": env.command_topic,
            "idempotency_collection": env.idempotency_collection,
            "notify": bool(env.notify_routes),
            "bigquery_table": env.bigquery_table or "",
            "deploy_via": env.deploy_via,
            "cloudbuild_project": env.cloudbuild_project or "",
            "cloudbuild_service_account": env.cloudbuild_service_account or "",
            **tasks_values(env),
        }
        values.update({k: v for k, v in overrides.items() if v not in (None, "")})
        return cls(**values)

    def account_name(self, email: str) -> str:
        """The account id of one of the plan's service accounts (before the `@`)."""
        return email.split("@", 1)[0]


# The deployed notify processor reads its routing table from this secret, exposed under the
# variable of the same name (JSON's commas cannot go through --set-env-vars).
NOTIFY_ROUTES_SECRET = "RUNRUN_NOTIFY_ROUTES"


def processor_secrets(settings: PlanSettings) -> tuple[str, ...]:
    """The secrets the configured processors read (none while none is configured)."""
    return (NOTIFY_ROUTES_SECRET,) if settings.notify else ()


def processor_env(settings: PlanSettings) -> str:
    """What the configured processors add to --set-env-vars (`,NAME=value`...)."""
    return f",RUNRUN_BIGQUERY_TABLE={settings.bigquery_table}" if settings.bigquery_table else ""


def bigquery_dataset(settings: PlanSettings) -> str:
    """`project:dataset` of RUNRUN_BIGQUERY_TABLE (as the bq tool names a dataset)."""
    parts = settings.bigquery_table.split(".")
    project = parts[0] if len(parts) == 3 else settings.project
    return f"{project}:{parts[-2]}"


def tasks_values(env: Settings) -> dict[str, Any]:
    """The Cloud Tasks fields of a plan, from the runtime settings."""
    if "tasks" not in env.queues_used:
        return {}
    values: dict[str, Any] = {
        "tasks": True,
        "queue_choice": env.queue if env.queue == "tasks" else "",
        "target_queues": ",".join(f"{t}={q}" for t, q in sorted(env.target_queues.items())),
        "queue_rate": env.queue_rate,
        "queue_max_concurrent": env.queue_max_concurrent,
        "queue_max_attempts": env.queue_max_attempts,
        "queue_min_backoff": env.queue_min_backoff_seconds,
        "queue_max_backoff": env.queue_max_backoff_seconds,
        "dispatch_deadline": env.tasks_dispatch_deadline_seconds,
    }
    if env.tasks_queue:
        values["tasks_queue"] = env.tasks_queue.rsplit("/", 1)[-1]
    return values


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


def pyproject_for(targets: Iterable[Target], settings: PlanSettings) -> Path:
    """The pyproject.toml holding the trigger table: the one given, else the nearest one
    above the module that defines the first target."""
    if settings.pyproject is not None:
        return settings.pyproject
    for target in targets:
        file = getattr(sys.modules.get(target.module), "__file__", None)
        if file:
            for folder in Path(file).resolve().parents:
                if (folder / "pyproject.toml").is_file():
                    return folder / "pyproject.toml"
    return Path("pyproject.toml")


def render(argv: list[str]) -> str:
    """A shell line; arguments holding `$` stay double-quoted so substitutions expand."""
    return " ".join(f'"{a}"' if "$" in a else shlex.quote(a) for a in argv)


def ensure(describe: list[str], create: list[str]) -> str:
    """Describe-or-create: the second run of a plan finds everything and changes nothing."""
    return f"{render(describe)} >/dev/null 2>&1 || {render(create)}"
