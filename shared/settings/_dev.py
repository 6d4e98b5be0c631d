"""Dev mode and the inspector: `runrun serve --dev` (or RUNRUN_DEV=1) on a developer's
machine, and the inspector page that records what the targets received."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.settings._env import ConfigError, env_switch, env_text
from shared.settings._server import ServerSettings


@dataclass(frozen=True)
class DevSettings:
    enabled: bool  # RUNRUN_DEV: decided here, once, and nowhere else
    inspect: bool | None  # RUNRUN_INSPECT; None: the default (on in dev mode only)
    inspect_token: str | None  # RUNRUN_INSPECT_TOKEN
    secrets_path: Path  # where dev secrets are kept, in the state dir

    @classmethod
    def from_env(cls, server: ServerSettings) -> DevSettings:
        enabled = bool(env_switch("RUNRUN_DEV"))
        if enabled and server.on_cloud_run:
            raise ConfigError("dev mode is for a developer's machine, but K_SERVICE is set")
        return cls(
            enabled=enabled,
            inspect=env_switch("RUNRUN_INSPECT"),
            inspect_token=env_text("RUNRUN_INSPECT_TOKEN") or None,
            secrets_path=server.state_dir / "dev-secrets.json",
        )

    @property
    def inspector_enabled(self) -> bool:
        """The inspector (and the recording behind it): on by default in dev mode only;
        anywhere else only with RUNRUN_INSPECT=1 and a token, never open without one."""
        if self.inspect is False:
            return False
        if self.enabled:
            return True
        return self.inspect is True and self.inspect_token is not None
