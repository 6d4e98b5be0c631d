"""Which provider a target serves, carried by the target itself.

`webhook_target` and `fulfilment_target` mark the function they make with its provider's
description, so the bundle's tools (dev secrets, `runrun send`, the deploy plan) find a
target's secrets and samples on the target, wherever it is defined. A provider is named by
its package here (`"github"` is `shared.providers.github`, whose `PROVIDER` describes it), so
that adding one takes its package and the one line that makes its target.
"""

from __future__ import annotations

import importlib

from shared.providers._provider import Provider
from shared.providers.dialogflow import Fulfilment

ATTRIBUTE = "webhook_provider"
Description = Provider | Fulfilment


def provider_named(name: str) -> Description:
    """The description of the provider package `name`.

    Raises:
        LookupError: no such package, or it describes no provider (`PROVIDER`).
    """
    module_name = f"{__package__}.{name}"
    try:
        package = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # the package exists but imports something missing: not ours to hide
        raise LookupError(
            f"no provider {name!r}: shared/providers/{name}/ does not exist"
        ) from None
    found = getattr(package, "PROVIDER", None)
    if not isinstance(found, Provider | Fulfilment):
        raise LookupError(f"{module_name} has no PROVIDER describing its provider")
    return found


def mark(function: object, description: Description) -> None:
    """Make `function` carry `description` (functools.wraps copies it onto wrappers)."""
    setattr(function, ATTRIBUTE, description)


def description_of(function: object) -> Description | None:
    """The description `function` carries, if it is a webhook or fulfilment target."""
    found = getattr(function, ATTRIBUTE, None)
    return found if isinstance(found, Provider | Fulfilment) else None
