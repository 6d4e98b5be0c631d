"""The processors `process_delivery` runs: each registration says which deliveries it
takes, its own settings, the client it needs, and how long after receipt it may run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from shared._delivery import Delivery
from shared.processing._context import ProcessorContext
from shared.settings import Settings

# A processor gets the delivery and its narrow context, and may return a short note (a
# build id) for the log and the inspector.
Processor = Callable[[Delivery, ProcessorContext[Any, Any]], "str | None"]
ANY = "*"


def _no_settings(settings: Settings) -> None:
    return None


def _always(block: Any) -> bool:
    return True


@dataclass(frozen=True)
class Registration:
    """One processor: what it runs on, and what its context carries.

    `settings` picks the processor's own block out of the process's settings (read once,
    when the runtime builds its context); `enabled` is asked of that block, so that a
    processor that is switched off (relay without a URL) costs no claim in the store at
    all; `client` builds the client it uses from its block, on first use,
    and `close_client` closes it when the runtime stops.
    """

    name: str
    run: Processor
    source: str = ANY
    event_type: str = ANY
    settings: Callable[[Settings], Any] = _no_settings
    enabled: Callable[[Any], bool] = _always
    client: Callable[[Any], Any] | None = None
    close_client: Callable[[Any], None] | None = None
    # Seconds after the delivery was received before this processor may run (None: at once).
    delay: float | None = None

    def __post_init__(self) -> None:
        if self.delay is not None and not self.delay > 0:
            raise ValueError(f"delay must be > 0 seconds, got {self.delay!r}")

    def takes(self, delivery: Delivery) -> bool:
        return (
            self.source in (ANY, delivery.source)
            and delivery.processor in ("", self.name)
            and self.event_type in (ANY, delivery.event_type)
        )


class ProcessorRegistry:
    """Processors registered per (source target, event type); "*" matches anything."""

    def __init__(self, registrations: Iterable[Registration] = ()) -> None:
        self._registrations: list[Registration] = []
        for registration in registrations:
            self.add(registration)

    def add(self, registration: Registration) -> Registration:
        if any(r.name == registration.name for r in self._registrations):
            raise ValueError(f"a processor named {registration.name!r} is already registered")
        self._registrations.append(registration)
        return registration

    def register(
        self,
        source: str = ANY,
        event_type: str = ANY,
        *,
        name: str | None = None,
        delay: float | None = None,
    ) -> Callable[[Processor], Processor]:
        """Register the decorated function, which needs no settings and no client of its own.
        `delay`: run no sooner than this many seconds after the delivery was received
        (Cloud Tasks or the local queue schedule it; start-up refuses it on Pub/Sub)."""

        def decorator(fn: Processor) -> Processor:
            label = name or f"{fn.__module__}.{fn.__qualname__}"
            self.add(Registration(label, fn, source, event_type, delay=delay))
            return fn

        return decorator

    @property
    def registrations(self) -> list[Registration]:
        return list(self._registrations)

    def unregister(self, name: str) -> None:
        self._registrations = [r for r in self._registrations if r.name != name]

    def matching(self, delivery: Delivery) -> list[Registration]:
        """The registrations that take `delivery` (whether each is enabled is the runtime's
        to say: it holds their settings)."""
        return [r for r in self._registrations if r.takes(delivery)]
