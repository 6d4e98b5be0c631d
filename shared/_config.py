"""Settings read from the environment once per process (tests call `reload_settings`)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

STORES = ("firestore", "sqlite", "memory")
QUEUES = ("pubsub", "local")
DEPLOY_VIA = ("cloudbuild", "topic")
# Dialogflow CX waits at most 30 s for a webhook (5 s by default).
DIALOGFLOW_MAX_TIMEOUT_SECONDS = 30.0


class ConfigError(ValueError):
    """An environment variable holds a value the project cannot use."""


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
    return value


def _choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def _triggers(name: str) -> dict[str, str]:
    """`owner/repo=trigger-id,owner/other=trigger-id`: which trigger deploys which repository."""
    mapping: dict[str, str] = {}
    for entry in _list(name):
        repository, sep, trigger = (part.strip() for part in entry.partition("="))
        if not sep or not repository or not trigger:
            raise ConfigError(f"{name} entries must be owner/repo=trigger-id, got {entry!r}")
        if repository in mapping:
            raise ConfigError(f"{name} names {repository!r} twice")
        mapping[repository] = trigger
    return mapping


def _budget(name: str, default: float) -> float:
    value = _float(name, default)
    if value >= DIALOGFLOW_MAX_TIMEOUT_SECONDS:
        raise ConfigError(
            f"{name} must stay below Dialogflow's {DIALOGFLOW_MAX_TIMEOUT_SECONDS:g} s timeout,"
            f" got {value:g}"
        )
    return value


def _on_google_cloud() -> bool:
    return bool(os.environ.get("K_SERVICE"))


@dataclass(frozen=True)
class Settings:
    """Everything the receiving and processing paths read from the environment."""

    project: str | None
    store: str
    queue: str
    state_dir: Path
    max_body_bytes: int
    idempotency_collection: str
    key_ttl_seconds: int
    lease_seconds: int
    deadline_seconds: float
    retry_after_seconds: int
    timestamp_tolerance_seconds: int
    topic: str
    command_topic: str
    queue_max_attempts: int
    events_collection: str
    relay_url: str | None
    # --- Deploy to staging (Cloud Build) and Dialogflow CX fulfilment: one block, read here only
    deploy_via: str  # "cloudbuild", or "topic" for teams with their own deployer
    cloudbuild_triggers: Mapping[str, str]  # repository full name -> trigger id
    cloudbuild_project: str | None  # default: the project
    cloudbuild_region: str
    cloudbuild_endpoint: str | None  # a local stand-in in tests: http:// means no credentials
    cloudbuild_timeout_seconds: float
    dialogflow_secret_header: str
    dialogflow_audiences: tuple[str, ...]  # the ID token's audience(s), when that auth is used
    dialogflow_service_agents: tuple[str, ...]  # the agent's service account(s) signing it
    dialogflow_budget_seconds: float
    dialogflow_fallback_text: str

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        default_store = (
            "firestore" if env.get("FIRESTORE_EMULATOR_HOST") or _on_google_cloud() else "sqlite"
        )
        default_queue = (
            "pubsub" if env.get("PUBSUB_EMULATOR_HOST") or _on_google_cloud() else "local"
        )
        return cls(
            project=env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or None,
            store=_choice("RUNRUN_STORE", STORES, default_store),
            queue=_choice("RUNRUN_QUEUE", QUEUES, default_queue),
            state_dir=Path(env.get("RUNRUN_STATE_DIR") or ".runrun"),
            max_body_bytes=_int("RUNRUN_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1),
            idempotency_collection=env.get("RUNRUN_IDEMPOTENCY_COLLECTION") or "idempotency_keys",
            key_ttl_seconds=_int("RUNRUN_KEY_TTL_SECONDS", 7 * 24 * 3600, minimum=1),
            lease_seconds=_int("RUNRUN_LEASE_SECONDS", 60, minimum=1),
            # The whole budget for store and queue calls of one request: Slack gives up after 3 s.
            deadline_seconds=_float("RUNRUN_DEADLINE_SECONDS", 2.0),
            retry_after_seconds=_int("RUNRUN_RETRY_AFTER_SECONDS", 5, minimum=1),
            timestamp_tolerance_seconds=_int("RUNRUN_TIMESTAMP_TOLERANCE_SECONDS", 300, minimum=1),
            topic=env.get("RUNRUN_TOPIC") or "webhook-deliveries",
            command_topic=env.get("RUNRUN_COMMAND_TOPIC") or "deploy-commands",
            queue_max_attempts=_int("RUNRUN_QUEUE_MAX_ATTEMPTS", 5, minimum=1),
            events_collection=env.get("RUNRUN_EVENTS_COLLECTION") or "webhook_events",
            relay_url=env.get("RUNRUN_RELAY_URL") or None,
            deploy_via=_choice("RUNRUN_DEPLOY_VIA", DEPLOY_VIA, "cloudbuild"),
            cloudbuild_triggers=_triggers("RUNRUN_CLOUDBUILD_TRIGGERS"),
            cloudbuild_project=env.get("RUNRUN_CLOUDBUILD_PROJECT") or None,
            cloudbuild_region=env.get("RUNRUN_CLOUDBUILD_REGION") or "global",
            cloudbuild_endpoint=env.get("RUNRUN_CLOUDBUILD_ENDPOINT") or None,
            # Below the claim's lease: a trigger call still in flight when the lease ends is
            # the one window in which a redelivery could start a second build.
            cloudbuild_timeout_seconds=_float("RUNRUN_CLOUDBUILD_TIMEOUT_SECONDS", 20.0),
            dialogflow_secret_header=(
                env.get("RUNRUN_DIALOGFLOW_SECRET_HEADER") or "x-dialogflow-secret"
            ).lower(),
            dialogflow_audiences=_list("DIALOGFLOW_AUDIENCE"),
            dialogflow_service_agents=_list("DIALOGFLOW_SERVICE_AGENT"),
            # The agent waits 5 s by default: what is left covers auth, store and network.
            dialogflow_budget_seconds=_budget("RUNRUN_DIALOGFLOW_BUDGET_SECONDS", 4.0),
            dialogflow_fallback_text=env.get("RUNRUN_DIALOGFLOW_FALLBACK_TEXT")
            or "Sorry, I could not get that done in time. Please try again in a moment.",
        )


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_env()


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again."""
    get_settings.cache_clear()
    return get_settings()


def secrets_from_env(name: str) -> list[bytes]:
    """The comma-separated secrets in env var `name` (several during a rotation)."""
    return [part.strip().encode() for part in os.environ.get(name, "").split(",") if part.strip()]
