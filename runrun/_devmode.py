"""Secrets at start: generated ones in dev mode, a loud error for missing ones elsewhere.

`runrun serve --dev` gives every target secret that is not set a generated dev secret,
stored in the state dir (so `runrun send` signs with it too) and printed once, here, in the
master before the workers start. Anywhere else an unset secret is never made up: each target
missing one is logged as an error at start, and answers 500 naming the variable.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from shared import Provider, Settings, secrets_from_env
from shared.dialogflow import Fulfilment
from shared.settings._secrets import ensure_dev_secrets

from ._discover import Target

log = logging.getLogger("runrun.server")


def providers(targets: Iterable[Target]) -> list[Provider | Fulfilment]:
    """The provider (or fulfilment) description of each target that has one (in the
    target's module)."""
    found = []
    for target in targets:
        module = sys.modules.get(target.module)
        for value in vars(module).values() if module is not None else ():
            if isinstance(value, Provider | Fulfilment) and value.target == target.name:
                found.append(value)
                break
    return found


def prepare_secrets(targets: Iterable[Target], settings: Settings) -> None:
    described = providers(targets)
    if settings.dev:
        names = {n for p in described for n in (p.secret_env, *p.hook_envs)}
        generated = ensure_dev_secrets(settings.dev_secrets_path, names)
        if generated:
            lines = [f"  {name}={value}" for name, value in sorted(generated.items())]
            print(
                f"runrun: dev mode: generated secrets for what is unset "
                f"(kept in {settings.dev_secrets_path}; `runrun send` signs with them):\n"
                + "\n".join(lines),
                file=sys.stderr,
                flush=True,
            )
        return
    for provider in described:
        if not isinstance(provider, Provider):
            continue  # a fulfilment may use an ID token, no secret: it names what is missing
        accepted = (provider.secret_env, *provider.key_envs)
        if not any(secrets_from_env(name) for name in accepted):
            log.error(
                "secret not set: the target answers 500 until it is",
                extra={"target": provider.target, "env": " or ".join(accepted)},
            )
