"""The processors the bundle ships, one package each (its settings block, its client, its
run()), and the one list that registers them.

Adding one: a package here whose `PROCESSOR` is a `Registration`, and one line in SHIPPED.
"""

from __future__ import annotations

from shared.processing import ProcessorRegistry, Registration
from shared.processors import bigquery, deploy_staging, notify, relay, store

SHIPPED: tuple[Registration, ...] = (
    relay.PROCESSOR,
    store.PROCESSOR,
    bigquery.PROCESSOR,
    notify.PROCESSOR,
    deploy_staging.PROCESSOR,
)


def shipped_registry() -> ProcessorRegistry:
    """A registry holding every shipped processor (a new one each call: tests add their own)."""
    return ProcessorRegistry(SHIPPED)


__all__ = [
    "SHIPPED",
    "shipped_registry",
]
