"""The notify processor's block: its routing table (inline or in a file), dry runs, and
the timeout of each FCM call. The table is checked whole when the block is read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.processors.notify._routes import NotifyRoute, RouteError, parse_routes
from shared.settings import ConfigError, Settings, env_float, env_switch, env_text


@dataclass(frozen=True)
class NotifySettings:
    routes: tuple[NotifyRoute, ...]  # RUNRUN_NOTIFY_ROUTES(_FILE); empty: off
    dry_run: bool  # RUNRUN_NOTIFY_DRY_RUN: FCM validates the messages, sends none
    timeout_seconds: float  # RUNRUN_FCM_TIMEOUT_SECONDS
    project: str | None  # the service's project

    @classmethod
    def from_env(cls, settings: Settings) -> NotifySettings:
        return cls(
            routes=_routes(),
            dry_run=bool(env_switch("RUNRUN_NOTIFY_DRY_RUN")),
            timeout_seconds=env_float("RUNRUN_FCM_TIMEOUT_SECONDS", 10.0),
            project=settings.server.project,
        )


def _routes() -> tuple[NotifyRoute, ...]:
    """The FCM routing table, inline or from a file; empty (notify off) when neither is set."""
    inline = env_text("RUNRUN_NOTIFY_ROUTES")
    path = env_text("RUNRUN_NOTIFY_ROUTES_FILE")
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
