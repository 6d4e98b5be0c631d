"""Reading the environment, one variable at a time.

Every setting goes through these readers, so a bad value is refused the same way wherever it
is read: `ConfigError` naming the variable and what it holds. The blocks that use them are
the settings package's own (`Settings.from_env()`) and each processor's; secrets are read
here on each use and never copied into a long-lived object.
"""

from __future__ import annotations

import os

_OFF = ("0", "false", "off", "no")
_ON = ("1", "true", "on", "yes")
# Where Google's token certificates are fetched; tests point RUNRUN_OIDC_CERTS_URL elsewhere.
GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
# Env var names whose values are secrets wherever they appear (the inspector masks them).
_SECRET_WORDS = ("SECRET", "TOKEN", "KEY", "STATE", "PASSWORD", "CREDENTIAL")


class ConfigError(ValueError):
    """An environment variable or flag holds a value the project cannot use."""


def env_text(name: str) -> str:
    return os.environ.get(name, "").strip()


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = env_text(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def env_float(name: str, default: float) -> float:
    raw = env_text(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be > 0, got {value}")
    return value


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    raw = env_text(name).lower()
    if not raw:
        return default
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def env_switch(name: str) -> bool | None:
    """An on/off variable: True, False, or None when unset."""
    raw = env_text(name).lower()
    if not raw:
        return None
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    raise ConfigError(f"{name} must be 1 or 0, got {raw!r}")


def env_list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env_text(name).split(",") if part.strip())


def secrets_from_env(name: str) -> list[bytes]:
    """The comma-separated secrets in env var `name` (several during a rotation)."""
    return [part.strip().encode() for part in os.environ.get(name, "").split(",") if part.strip()]


def positive_int_env(name: str) -> int | None:
    """A per-provider override such as a timestamp tolerance: None when unset.

    Raises:
        ConfigError: set, but not a positive integer.
    """
    raw = env_text(name)
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"{name} must be a positive integer")
    return int(raw)


def oidc_certs_url() -> str:
    return env_text("RUNRUN_OIDC_CERTS_URL") or GOOGLE_CERTS_URL


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
