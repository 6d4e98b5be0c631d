"""The settings module: the only place that reads the environment.

`Settings.from_env()` reads every variable once per process (tests call `reload_settings`);
command-line flags override it through `override_env`, which writes the flag back into
the environment so that forked or spawned server workers read the same value. Secrets are
read on each use (`secrets_from_env`): a secret is never copied into a long-lived object.

"On Cloud Run" (`K_SERVICE` set) and "dev mode" (`runrun serve --dev`, or RUNRUN_DEV=1) are
decided here, once, and nowhere else.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STORES = ("firestore", "sqlite", "memory")
QUEUES = ("pubsub", "local")
SERVERS = ("granian", "gunicorn")
DEADLINE_PREFIX = "RUNRUN_DEADLINE_SECONDS_"
_OFF = ("0", "false", "off", "no")
_ON = ("1", "true", "on", "yes")
# Where Google's token certificates are fetched; tests point RUNRUN_OIDC_CERTS_URL elsewhere.
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
# Env var names whose values are secrets wherever they appear (the inspector masks them).
_SECRET_WORDS = ("SECRET", "TOKEN", "KEY", "STATE", "PASSWORD", "CREDENTIAL")


class ConfigError(ValueError):
    """An environment variable or flag holds a value the project cannot use."""


def _raw(name: str) -> str:
    return os.environ.get(name, "").strip()


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = _raw(name)
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
    raw = _raw(name)
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
    raw = _raw(name).lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _switch(name: str) -> bool | None:
    """An on/off variable: True, False, or None when unset."""
    raw = _raw(name).lower()
    if not raw:
        return None
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


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
    # RUNRUN_DEADLINE_SECONDS_<TARGET>: one target's own deadline, whatever its provider's.
    deadline_overrides: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        on_cloud_run = bool(_raw("K_SERVICE"))
        dev = bool(_switch("RUNRUN_DEV"))
        if dev and on_cloud_run:
            raise ConfigError("dev mode is for a developer's machine, but K_SERVICE is set")
        firestore_emulator = _raw("FIRESTORE_EMULATOR_HOST") or None
        pubsub_emulator = _raw("PUBSUB_EMULATOR_HOST") or None
        default_store = "firestore" if firestore_emulator or on_cloud_run else "sqlite"
        default_queue = "pubsub" if pubsub_emulator or on_cloud_run else "local"
        return cls(
            project=env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or None,
            on_cloud_run=on_cloud_run,
            dev=dev,
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
            firestore_emulator=firestore_emulator,
            pubsub_emulator=pubsub_emulator,
            processors=_raw("RUNRUN_PROCESSORS") or "functions.processors:registry",
            inspect=_switch("RUNRUN_INSPECT"),
            inspect_token=_raw("RUNRUN_INSPECT_TOKEN") or None,
            deadline_overrides={
                name[len(DEADLINE_PREFIX) :].lower(): _float(name, 1.0)
                for name in sorted(env)
                if name.startswith(DEADLINE_PREFIX) and len(name) > len(DEADLINE_PREFIX)
            },
        )

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


def safety_margin(answer_window: float) -> float:
    """What a deadline keeps back from a provider's answer window: the network both ways, the
    front end and the clock of the provider, which starts counting before we do. A fifth of
    the window, and at least one second (Slack's 3 s leave 2 s, GitHub's 10 s leave 8 s)."""
    return max(1.0, answer_window / 5)


@dataclass(frozen=True)
class ServeDefaults:
    """The `runrun serve` defaults taken from the environment (flags override them)."""

    host: str | None  # None: 127.0.0.1 in dev mode, else 0.0.0.0
    port: int
    concurrency: int | None
    workers: int | None
    server: str
    source: Path | None

    @classmethod
    def from_env(cls) -> ServeDefaults:
        return cls(
            host=_raw("HOST") or None,
            port=_int("PORT", 8080, minimum=1),
            concurrency=_int("RUNRUN_CONCURRENCY", 0, minimum=0) or None,
            workers=_int("RUNRUN_WORKERS", 0, minimum=0) or None,
            server=_choice("RUNRUN_SERVER", SERVERS, "granian"),
            source=Path(_raw("FUNCTION_SOURCE")) if _raw("FUNCTION_SOURCE") else None,
        )


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


def secrets_from_env(name: str) -> list[bytes]:
    """The comma-separated secrets in env var `name` (several during a rotation)."""
    return [part.strip().encode() for part in os.environ.get(name, "").split(",") if part.strip()]


def positive_int_env(name: str) -> int | None:
    """A per-provider override such as a timestamp tolerance: None when unset.

    Raises:
        ConfigError: set, but not a positive integer.
    """
    raw = _raw(name)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a positive integer")
    return int(raw)


def function_source() -> Path:
    """`--source` as functions-framework resolves it: FUNCTION_SOURCE, else ./main.py."""
    return Path(_raw("FUNCTION_SOURCE") or "main.py")


def oidc_certs_url() -> str:
    return _raw("RUNRUN_OIDC_CERTS_URL") or GOOGLE_CERTS_URL


def secret_like_values() -> list[str]:
    """Every value (and comma-separated part) of an env var whose name says it is secret,
    longest first, so that masking a secret that contains another hides it whole."""
    values = {
        part.strip()
        for name, value in os.environ.items()
        if any(word in name.upper() for word in _SECRET_WORDS)
        for part in value.split(",")
    }
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def http_env() -> dict[str, str]:
    """The environment's HTTP_* variables (a server copying os.environ into each request's
    WSGI environ would pass them off as request headers)."""
    return {k: v for k, v in os.environ.items() if k.startswith("HTTP_")}
