"""The serving process's variables: `runrun serve`'s defaults, functions-framework's own
variables, and the environment runrun passes on to what it runs or serves.

Every variable runrun reads goes through here, so a bad value is refused the same way
wherever it is read: a `ConfigurationError` naming the variable and what it holds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ._errors import ConfigurationError

SERVERS = ("granian", "gunicorn")


def env_text(name: str) -> str:
    return os.environ.get(name, "").strip()


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env_text(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be >= {minimum}, got {value}")
    return value


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env_text(name).lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def env_flag(name: str) -> bool:
    """An on/off variable such as RUNRUN_DEV: on for 1, true, on or yes."""
    return env_text(name).lower() in ("1", "true", "on", "yes")


@dataclass(frozen=True)
class ServeDefaults:
    """The `runrun serve` defaults taken from the environment (flags override them)."""

    host: str | None  # None: 127.0.0.1 in dev mode, else 0.0.0.0
    port: int
    concurrency: int | None
    workers: int | None
    threads: int | None
    server: str
    source: Path | None
    dev: bool  # RUNRUN_DEV

    @classmethod
    def from_env(cls) -> ServeDefaults:
        return cls(
            host=env_text("HOST") or None,
            port=env_int("PORT", 8080, minimum=1),
            concurrency=env_int("RUNRUN_CONCURRENCY", 0, minimum=0) or None,
            # WORKERS and THREADS are functions-framework's own names for the same knobs.
            workers=env_int("RUNRUN_WORKERS", 0, minimum=0)
            or env_int("WORKERS", 0, minimum=0)
            or None,
            threads=env_int("THREADS", 0, minimum=0) or None,
            server=env_choice("RUNRUN_SERVER", SERVERS, "granian"),
            source=Path(env_text("FUNCTION_SOURCE")) if env_text("FUNCTION_SOURCE") else None,
            dev=env_flag("RUNRUN_DEV"),
        )


@dataclass(frozen=True)
class FrameworkEnv:
    """functions-framework's own variables, read afresh on each call: serving one target
    writes FUNCTION_TARGET / FUNCTION_SIGNATURE_TYPE, as functions-framework does."""

    target: str  # FUNCTION_TARGET: the one function to serve
    signature_type: str  # FUNCTION_SIGNATURE_TYPE: the default for undecorated targets
    timeout_seconds: int  # CLOUD_RUN_TIMEOUT_SECONDS
    threaded_timeout: bool  # THREADED_TIMEOUT_ENABLED=true
    entry_point: bool  # ENTRY_POINT set: the legacy Python 3.7 mode
    service: str  # K_SERVICE: set on Cloud Run; names the function in the legacy mode

    @classmethod
    def from_env(cls) -> FrameworkEnv:
        return cls(
            target=env_text("FUNCTION_TARGET"),
            signature_type=env_text("FUNCTION_SIGNATURE_TYPE"),
            timeout_seconds=env_int("CLOUD_RUN_TIMEOUT_SECONDS", 0),
            threaded_timeout=env_text("THREADED_TIMEOUT_ENABLED").lower() == "true",
            entry_point=bool(env_text("ENTRY_POINT")),
            service=env_text("K_SERVICE"),
        )


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process (a tool runrun runs), with `extra` on top."""
    return {**os.environ, **extra}


def set_env(values: Mapping[str, str]) -> None:
    """Write variables for this process and the workers it starts (functions-framework sets
    FUNCTION_TARGET and friends for the function it serves)."""
    os.environ.update(values)


def function_source() -> Path:
    """`--source` as functions-framework resolves it: FUNCTION_SOURCE, else ./main.py."""
    return Path(env_text("FUNCTION_SOURCE") or "main.py")
