"""The settings of the receiving and processing paths, read from the environment.

Every variable is read through `_env`'s readers (the serving process's own in `_serve_env`);
no other module reads the environment. `Settings.from_env()` reads every variable once per
process (tests call `reload_settings`); command-line flags override it through
`override_env`, which writes the flag back into the environment so that forked or spawned
server workers read the same value. Secrets are read on each use (`_env.secrets_from_env`):
a secret is never copied into a long-lived object.

"On Cloud Run" (`K_SERVICE` set) and "dev mode" (`runrun serve --dev`, or RUNRUN_DEV=1) are
decided here, once, and nowhere else.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shared.settings._env import (
    ConfigError,
    env_bigquery_table,
    env_budget,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_notify_routes,
    env_pairs,
    env_switch,
    env_text,
    env_triggers,
)
from shared.settings._metrics import MetricsSettings
from shared.settings._queue import QUEUES, queue_settings

if TYPE_CHECKING:
    from shared.settings._notify_routes import NotifyRoute

STORES = ("firestore", "sqlite", "memory")
DEADLINE_PREFIX = "RUNRUN_DEADLINE_SECONDS_"
DEPLOY_VIA = ("cloudbuild", "topic")


@dataclass(frozen=True)
class Settings:
    """Everything the receiving and processing paths, and runrun, read from the environment."""

    project: str | None
    on_cloud_run: bool
    dev: bool
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
    firestore_emulator: str | None
    pubsub_emulator: str | None
    # "module:attribute" of the ProcessorRegistry the process target and local queue run.
    processors: str
    inspect: bool | None  # RUNRUN_INSPECT; None: the default (on in dev mode only)
    inspect_token: str | None
    # --- Deploy to staging (Cloud Build) and Dialogflow CX fulfilment: one block, read here only
    deploy_via: str  # "cloudbuild", or "topic" for teams with their own deployer
    cloudbuild_triggers: Mapping[str, str]  # repository full name -> trigger id
    cloudbuild_project: str | None  # default: the project
    cloudbuild_region: str
    cloudbuild_endpoint: str | None  # a local stand-in in tests: http:// means no credentials
    cloudbuild_service_account: str | None  # the account the triggers run as (deploy-plan)
    cloudbuild_timeout_seconds: float
    dialogflow_secret_header: str
    dialogflow_audiences: tuple[str, ...]  # the ID token's audience(s), when that auth is used
    dialogflow_service_agents: tuple[str, ...]  # the agent's service account(s) signing it
    dialogflow_budget_seconds: float
    dialogflow_fallback_text: str
    # Per-target queue choice (RUNRUN_TARGET_QUEUES=shopify=tasks,...); others use `queue`.
    target_queues: Mapping[str, str]
    tasks_queue: str | None  # projects/P/locations/L/queues/Q
    tasks_url: str | None  # the public URL of process_delivery, where tasks are sent
    tasks_emulator: str | None
    push_service_account: str | None  # signs the tasks' OIDC tokens
    push_audience: str | None
    # The queue's dispatch limits: deploy gives them to Cloud Tasks, the local queue keeps
    # them itself (rate and backoff; it runs one message at a time per process).
    queue_rate: float
    queue_max_concurrent: int
    queue_min_backoff_seconds: float
    queue_max_backoff_seconds: float
    tasks_dispatch_deadline_seconds: int
    # Notify (FCM) and BigQuery processors, each off until configured (defaults = off).
    notify_routes: tuple[NotifyRoute, ...] = ()
    notify_dry_run: bool = False
    fcm_timeout_seconds: float = 10.0
    bigquery_table: str | None = None
    bigquery_events: tuple[tuple[str, str], ...] = ()
    bigquery_timeout_seconds: float = 10.0
    bigquery_emulator_host: str | None = None
    # Where a worker writes the batch sizes it saw at shutdown (the benchmark reads them).
    batch_sizes_dir: str | None = None
    # RUNRUN_DEADLINE_SECONDS_<TARGET>: one target's own deadline, whatever its provider's.
    deadline_overrides: Mapping[str, float] = field(default_factory=dict)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        on_cloud_run = bool(env_text("K_SERVICE"))
        dev = bool(env_switch("RUNRUN_DEV"))
        if dev and on_cloud_run:
            raise ConfigError("dev mode is for a developer's machine, but K_SERVICE is set")
        firestore_emulator = env_text("FIRESTORE_EMULATOR_HOST") or None
        pubsub_emulator = env_text("PUBSUB_EMULATOR_HOST") or None
        default_store = "firestore" if firestore_emulator or on_cloud_run else "sqlite"
        default_queue = "pubsub" if pubsub_emulator or on_cloud_run else "local"
        return cls(
            project=env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or None,
            on_cloud_run=on_cloud_run,
            dev=dev,
            store=env_choice("RUNRUN_STORE", STORES, default_store),
            queue=env_choice("RUNRUN_QUEUE", QUEUES, default_queue),
            state_dir=Path(env.get("RUNRUN_STATE_DIR") or ".runrun"),
            max_body_bytes=env_int("RUNRUN_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1),
            idempotency_collection=env.get("RUNRUN_IDEMPOTENCY_COLLECTION") or "idempotency_keys",
            key_ttl_seconds=env_int("RUNRUN_KEY_TTL_SECONDS", 7 * 24 * 3600, minimum=1),
            lease_seconds=env_int("RUNRUN_LEASE_SECONDS", 60, minimum=1),
            # The whole budget for store and queue calls of one request: Slack gives up after 3 s.
            deadline_seconds=env_float("RUNRUN_DEADLINE_SECONDS", 2.0),
            retry_after_seconds=env_int("RUNRUN_RETRY_AFTER_SECONDS", 5, minimum=1),
            timestamp_tolerance_seconds=env_int(
                "RUNRUN_TIMESTAMP_TOLERANCE_SECONDS", 300, minimum=1
            ),
            topic=env.get("RUNRUN_TOPIC") or "webhook-deliveries",
            command_topic=env.get("RUNRUN_COMMAND_TOPIC") or "deploy-commands",
            queue_max_attempts=env_int("RUNRUN_QUEUE_MAX_ATTEMPTS", 5, minimum=1),
            events_collection=env.get("RUNRUN_EVENTS_COLLECTION") or "webhook_events",
            relay_url=env.get("RUNRUN_RELAY_URL") or None,
            **_deploy_and_dialogflow(),
            firestore_emulator=firestore_emulator,
            pubsub_emulator=pubsub_emulator,
            processors=env_text("RUNRUN_PROCESSORS") or "functions.processors:registry",
            inspect=env_switch("RUNRUN_INSPECT"),
            inspect_token=env_text("RUNRUN_INSPECT_TOKEN") or None,
            **_notify_and_bigquery(),
            batch_sizes_dir=env_text("RUNRUN_BATCH_SIZES_DIR") or None,
            **queue_settings(),
            deadline_overrides={
                name[len(DEADLINE_PREFIX) :].lower(): env_float(name, 1.0)
                for name in sorted(env)
                if name.startswith(DEADLINE_PREFIX) and len(name) > len(DEADLINE_PREFIX)
            },
            metrics=MetricsSettings.from_env(dev),
        )

    def unknown_targets_named(self, targets: Iterable[str]) -> list[str]:
        """The settings that name a target not among `targets`: a misspelt name would
        otherwise leave that target on its defaults without a word."""
        known = {name.lower() for name in targets}
        named = [
            f"{DEADLINE_PREFIX}{name.upper()}"
            for name in self.deadline_overrides
            if name not in known
        ]
        named += [
            f"RUNRUN_TARGET_QUEUES={name}"
            for name in self.target_queues
            if name.lower() not in known
        ]
        return named

    def queue_for(self, target: str) -> str:
        """The queue that `target`'s deliveries (and its follow-ups) are handed to."""
        return self.target_queues.get(target, self.queue)

    @property
    def queues_used(self) -> set[str]:
        return {self.queue, *self.target_queues.values()}

    def deadline_for(self, target: str, answer_window: float | None) -> float:
        """The budget for a receiving target's store and queue calls: its override, else
        its provider's documented answer window minus a safety margin, else
        RUNRUN_DEADLINE_SECONDS (for a provider that documents no window)."""
        override = self.deadline_overrides.get(target)
        if override is not None:
            return override
        if answer_window is None:
            return self.deadline_seconds
        return answer_window - safety_margin(answer_window)

    @property
    def inspector_enabled(self) -> bool:
        """The inspector (and the recording behind it): on by default in dev mode only;
        anywhere else only with RUNRUN_INSPECT=1 and a token, never open without one."""
        if self.inspect is False:
            return False
        if self.dev:
            return True
        return self.inspect is True and self.inspect_token is not None

    @property
    def dev_secrets_path(self) -> Path:
        return self.state_dir / "dev-secrets.json"


def _deploy_and_dialogflow() -> dict[str, Any]:
    """Deploy to staging's settings and Dialogflow CX fulfilment's."""
    env = os.environ
    return {
        "deploy_via": env_choice("RUNRUN_DEPLOY_VIA", DEPLOY_VIA, "cloudbuild"),
        "cloudbuild_triggers": env_triggers("RUNRUN_CLOUDBUILD_TRIGGERS"),
        "cloudbuild_project": env.get("RUNRUN_CLOUDBUILD_PROJECT") or None,
        "cloudbuild_region": env.get("RUNRUN_CLOUDBUILD_REGION") or "global",
        "cloudbuild_endpoint": env.get("RUNRUN_CLOUDBUILD_ENDPOINT") or None,
        "cloudbuild_service_account": env_text("RUNRUN_CLOUDBUILD_SERVICE_ACCOUNT") or None,
        # Below the claim's lease: a trigger call still in flight when the lease ends is
        # the one window in which a redelivery could start a second build.
        "cloudbuild_timeout_seconds": env_float("RUNRUN_CLOUDBUILD_TIMEOUT_SECONDS", 20.0),
        "dialogflow_secret_header": (
            env.get("RUNRUN_DIALOGFLOW_SECRET_HEADER") or "x-dialogflow-secret"
        ).lower(),
        "dialogflow_audiences": env_list("DIALOGFLOW_AUDIENCE"),
        "dialogflow_service_agents": env_list("DIALOGFLOW_SERVICE_AGENT"),
        # The agent waits 5 s by default: what is left covers auth, store and network.
        "dialogflow_budget_seconds": env_budget("RUNRUN_DIALOGFLOW_BUDGET_SECONDS", 4.0),
        "dialogflow_fallback_text": env.get("RUNRUN_DIALOGFLOW_FALLBACK_TEXT")
        or "Sorry, I could not get that done in time. Please try again in a moment.",
    }


def _notify_and_bigquery() -> dict[str, Any]:
    """The notify and bigquery processors' settings (each off until configured)."""
    return {
        "notify_routes": env_notify_routes(),
        "notify_dry_run": bool(env_switch("RUNRUN_NOTIFY_DRY_RUN")),
        "fcm_timeout_seconds": env_float("RUNRUN_FCM_TIMEOUT_SECONDS", 10.0),
        "bigquery_table": env_bigquery_table(),
        "bigquery_events": env_pairs("RUNRUN_BIGQUERY_EVENTS"),
        "bigquery_timeout_seconds": env_float("RUNRUN_BIGQUERY_TIMEOUT_SECONDS", 10.0),
        "bigquery_emulator_host": env_text("BIGQUERY_EMULATOR_HOST") or None,
    }


def safety_margin(answer_window: float) -> float:
    """What a deadline keeps back from a provider's answer window: the network both ways, the
    front end and the clock of the provider, which starts counting before we do. A fifth of
    the window, and at least one second (Slack's 3 s leave 2 s, GitHub's 10 s leave 8 s)."""
    return max(1.0, answer_window / 5)


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_env()


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again."""
    get_settings.cache_clear()
    return get_settings()


def override_env(values: Mapping[str, str]) -> Settings:
    """Apply command-line flags over the environment (for this process and the workers it
    starts), and read the settings again."""
    for name, value in values.items():
        os.environ[name] = value
    return reload_settings()
