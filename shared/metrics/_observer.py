"""The observer that counts: each report of the receive and process pipelines becomes a few
counter increments in every sink (prometheus-client for `/_runrun/metrics`, OpenTelemetry for
Cloud Monitoring).

It runs on the request's thread (`shared._observe`), so it only counts: prometheus-client's
multiprocess mode writes into a memory-mapped page (no system call), and OpenTelemetry's
instruments add to memory that a reader thread exports later.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from shared._observe import DeliveryReport, Observer, RunReport

from ._labels import delivery_labels

ASink = TypeVar("ASink")


class Sink(Protocol):
    """Where the counts go."""

    def delivery(self, target: str, outcome: str, reason: str, seconds: float) -> None: ...

    def run(self, processor: str, outcome: str) -> None: ...

    def close(self, timeout: float) -> None: ...


class MetricsObserver(Observer):
    """Counts every delivery and processor run into its sinks."""

    def __init__(self, sinks: Sequence[Sink]) -> None:
        self.sinks = tuple(sinks)

    def find(self, kind: type[ASink]) -> ASink | None:
        """The first sink of type `kind`, or None."""
        return next((s for s in self.sinks if isinstance(s, kind)), None)

    def delivery(self, report: DeliveryReport) -> None:
        outcome, reason = delivery_labels(report.details)
        seconds = float(report.details.get("latency_ms") or 0.0) / 1000
        for sink in self.sinks:
            sink.delivery(report.target, outcome, reason, seconds)

    def run(self, report: RunReport) -> None:
        for sink in self.sinks:
            sink.run(report.processor, report.outcome)

    def close(self, timeout: float = 5.0) -> None:
        for sink in self.sinks:
            sink.close(timeout)
