"""Settings read from the environment once per process (tests call `reload_settings`)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .notify._routes import NotifyRoute

STORES = ("firestore", "sqlite", "memory")
QUEUES = ("pubsub", "local")


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
    # Notify (FCM) and BigQuery processors, each off until configured (defaults = off).
    notify_routes: tuple[NotifyRoute, ...] = ()
    notify_dry_run: bool = False
    fcm_timeout_seconds: float = 10.0
    bigquery_table: str | None = None
    bigquery_events: tuple[tuple[str, str], ...] = ()
    bigquery_timeout_seconds: float = 10.0
    bigquery_emulator_host: str | None = None

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
            notify_routes=_notify_routes(),
            notify_dry_run=_bool("RUNRUN_NOTIFY_DRY_RUN"),
            fcm_timeout_seconds=_float("RUNRUN_FCM_TIMEOUT_SECONDS", 10.0),
            bigquery_table=_bigquery_table(),
            bigquery_events=_pairs("RUNRUN_BIGQUERY_EVENTS"),
            bigquery_timeout_seconds=_float("RUNRUN_BIGQUERY_TIMEOUT_SECONDS", 10.0),
            bigquery_emulator_host=env.get("BIGQUERY_EMULATOR_HOST") or None,
        )


def _bool(name: str) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _notify_routes() -> tuple[NotifyRoute, ...]:
    """The FCM routing table, inline or from a file; empty (notify off) when neither is set."""
    from .notify._routes import RouteError, parse_routes  # no SDK: only the table's checks

    inline = os.environ.get("RUNRUN_NOTIFY_ROUTES", "").strip()
    path = os.environ.get("RUNRUN_NOTIFY_ROUTES_FILE", "").strip()
    if inline and path:
        raise ConfigError("set RUNRUN_NOTIFY_ROUTES or RUNRUN_NOTIFY_ROUTES_FILE, not both")
    name, text = "RUNRUN_NOTIFY_ROUTES", inline
    if path:
        name = f"RUNRUN_NOTIFY_ROUTES_FILE ({path})"
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{name} cannot be read: {exc}") from None
    if not text:
        return ()
    try:
        return parse_routes(text)
    except RouteError as exc:
        raise ConfigError(f"{name}: {exc}") from None


def _bigquery_table() -> str | None:
    raw = os.environ.get("RUNRUN_BIGQUERY_TABLE", "").strip()
    if not raw:
        return None
    parts = raw.split(".")
    if len(parts) not in (2, 3) or not all(parts):
        raise ConfigError(
            f"RUNRUN_BIGQUERY_TABLE must be dataset.table or project.dataset.table, got {raw!r}"
        )
    return raw


def _pairs(name: str) -> tuple[tuple[str, str], ...]:
    """`target:event,target:*` selections; empty means every delivery."""
    pairs = []
    for item in os.environ.get(name, "").split(","):
        if not item.strip():
            continue
        target, sep, event = item.strip().partition(":")
        if not sep or not target.strip() or not event.strip():
            raise ConfigError(f"{name}: {item.strip()!r} is not target:event (use * for any)")
        pairs.append((target.strip(), event.strip()))
    return tuple(pairs)


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
