"""Observers: who else hears how each delivery and each processor run turned out.

The receive and process pipelines report to the runtime's observers and know nothing
about them; runrun's inspector records through one. An observer runs on the request's
thread, so it must only hand the report off (queue it), never do I/O there; whatever it
raises is logged once and dropped: an observer never costs a delivery.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger("runrun.observe")
AnObserver = TypeVar("AnObserver", bound="Observer")


@dataclass(frozen=True)
class DeliveryReport:
    """One request to a receiving target, as its log line tells it."""

    target: str
    details: Mapping[str, Any]  # outcome, status, latency_ms, delivery_id, event_type...


@dataclass(frozen=True)
class RunReport:
    """One processor run: `ran`, `failed` (with the exception's type) or `skipped`."""

    source: str
    delivery_id: str
    event_type: str
    processor: str
    outcome: str
    error: str | None = None
    latency_ms: float | None = None
    note: str | None = None  # what the processor returned: a label such as a build id


class Observer:
    """Override what you need; both do nothing by default."""

    def delivery(self, report: DeliveryReport) -> None:
        """A receiving target answered."""

    def run(self, report: RunReport) -> None:
        """A processor ran, failed or was skipped."""

    def close(self, timeout: float = 5.0) -> None:
        """Flush whatever is pending (the process is stopping)."""


class Observers(Observer):
    """Several observers as one, each isolated from the others' failures."""

    def __init__(self, observers: Iterable[Observer] = ()) -> None:
        self._observers = tuple(observers)
        self._warned = threading.Event()

    def __bool__(self) -> bool:
        return bool(self._observers)

    def find(self, kind: type[AnObserver]) -> AnObserver | None:
        """The first observer of type `kind`, or None."""
        return next((o for o in self._observers if isinstance(o, kind)), None)

    def delivery(self, report: DeliveryReport) -> None:
        for observer in self._observers:
            try:
                observer.delivery(report)
            except Exception as exc:  # noqa: BLE001 - an observer never costs a delivery
                self._warn(observer, exc)

    def run(self, report: RunReport) -> None:
        for observer in self._observers:
            try:
                observer.run(report)
            except Exception as exc:  # noqa: BLE001 - an observer never costs a delivery
                self._warn(observer, exc)

    def close(self, timeout: float = 5.0) -> None:
        for observer in self._observers:
            try:
                observer.close(timeout)
            except Exception as exc:  # noqa: BLE001 - shutdown goes on
                self._warn(observer, exc)

    def _warn(self, observer: Observer, exc: Exception) -> None:
        if not self._warned.is_set():
            self._warned.set()
            log.warning(
                "observer failed",
                extra={"observer": type(observer).__name__, "error": type(exc).__name__},
            )
