"""Which processors this process runs: the registry RUNRUN_PROCESSORS names, and the check,
at start, that each delayed one can be kept waiting by the queues its deliveries use."""

from __future__ import annotations

import importlib
import logging

from shared.processing import ProcessorRegistry
from shared.settings import ConfigError, Settings

log = logging.getLogger("runrun.runtime")


def check_scheduling(settings: Settings, registry: ProcessorRegistry | None) -> None:
    """Refuse, at start, a delayed processor whose deliveries may come through Pub/Sub:
    Pub/Sub cannot hold a message back, so the delay could not be kept.

    Raises:
        ConfigError: naming the processor and the queue to choose instead.
    """
    if registry is None:
        return
    for registration in registry.registrations:
        if registration.delay is None:
            continue
        if registration.source == "*":
            queues = settings.queue.queues_used
        else:
            queues = {settings.queue.queue_for(registration.source)}
        if "pubsub" in queues:
            raise ConfigError(
                f"processor {registration.name!r} runs {registration.delay:g} s after its "
                "delivery, but Pub/Sub cannot schedule: choose RUNRUN_QUEUE=tasks or local "
                f"(or RUNRUN_TARGET_QUEUES={registration.source}=tasks)"
            )


def import_registry(spec: str) -> ProcessorRegistry | None:
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name != module_name:
            raise  # the module exists but is broken: that must not pass silently
        log.warning("no processors: the local queue keeps its messages", extra={"module": spec})
        return None
    registry = getattr(module, attribute or "registry", None)
    if not isinstance(registry, ProcessorRegistry):
        raise TypeError(f"RUNRUN_PROCESSORS={spec!r} names no ProcessorRegistry")
    return registry
