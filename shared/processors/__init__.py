"""The processors the bundle ships, one package each (its settings block, its client, its
run()), and the one list that registers them.

Adding one: a package here whose `PROCESSOR` is a `Registration`, and its name in SHIPPED.
A package is imported when a registry is built, not when this one is.
"""

from __future__ import annotations

import importlib

from shared.processing import ProcessorRegistry, Registration

# The order processors run in, for each delivery.
SHIPPED: tuple[str, ...] = (
    "relay",
    "store",
    "bigquery",
    "notify",
    "deploy_staging",
)


def shipped(names: tuple[str, ...] = SHIPPED) -> list[Registration]:
    """The registrations of the processors `names` (packages of this one), in order."""
    found: list[Registration] = []
    for name in names:
        module = importlib.import_module(f"{__name__}.{name}")
        registration = getattr(module, "PROCESSOR", None)
        if not isinstance(registration, Registration):
            raise TypeError(f"{module.__name__}.PROCESSOR is not a Registration")
        found.append(registration)
    return found


def shipped_registry() -> ProcessorRegistry:
    """A registry holding every shipped processor (a new one each call: tests add their own)."""
    return ProcessorRegistry(shipped())


__all__ = [
    "SHIPPED",
    "shipped",
    "shipped_registry",
]
