"""Where a target's secrets come from: the environment, and in dev mode only, secrets
generated for the names left unset.

Dev secrets live in `<state dir>/dev-secrets.json` (mode 0600), so `runrun serve --dev` and
`runrun send` (a separate process) sign and verify with the same values, and a restart keeps
them. They never exist outside dev mode: there an unset secret is an error.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from shared.settings._dev import DevSettings
from shared.settings._env import secrets_from_env


def load_dev_secrets(path: Path) -> dict[str, str]:
    """The dev secrets stored at `path` (none when the file is missing or unreadable)."""
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(stored, dict):
        return {}
    return {str(k): str(v) for k, v in stored.items() if isinstance(v, str) and v}


def _generate() -> str:
    # One shape every provider accepts: Standard Webhooks decodes the base64 after `whsec_`,
    # every other provider takes any string as its secret.
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def ensure_dev_secrets(path: Path, names: Iterable[str]) -> dict[str, str]:
    """A dev secret for each of `names` not set in the environment, generating the missing
    ones; returns the dev secrets of `names` now in use."""
    stored = load_dev_secrets(path)
    wanted = sorted({n for n in names if not secrets_from_env(n)})
    missing = [n for n in wanted if n not in stored]
    if missing:
        stored.update({name: _generate() for name in missing})
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(stored, out, indent=1, sort_keys=True)
        os.replace(temporary, path)
    return {name: stored[name] for name in wanted}


class Secrets:
    """The secrets of one process: env vars, read on each use, then dev secrets."""

    def __init__(self, dev: DevSettings) -> None:
        self._dev = load_dev_secrets(dev.secrets_path) if dev.enabled else {}

    def dev_values(self) -> list[str]:
        """The dev secrets in use (for masking wherever they could appear)."""
        return list(self._dev.values())

    def values(self, name: str) -> list[bytes]:
        """The comma-separated values of `name` (several during a rotation)."""
        found = secrets_from_env(name)
        if not found and name in self._dev:
            found = [self._dev[name].encode()]
        return found
