"""The figures as prometheus-client metrics, and their text exposition.

Imported only when `/_runrun/metrics` is served. Under `runrun serve` the serving process
names a directory in PROMETHEUS_MULTIPROC_DIR before any worker starts (`_multiproc`), so
every worker writes its counts to memory-mapped files there and a scrape, answered by any
worker, adds up all of them. Where no directory was named (a runtime built in a test, one
process), the counts live in this sink's own registry and are shown from there.

    runrun_deliveries_total{target, outcome, reason}   every answered request (`_labels`)
    runrun_receive_seconds{target}                     time to answer, bucketed around
                                                       each provider's answer window
    runrun_handoff_failures_total{target}              deliveries the queue did not take
    runrun_processor_runs_total{processor, outcome}    ran, failed, skipped, deferred,
                                                       scheduled
    runrun_queue_depth, runrun_queue_oldest_age_seconds, runrun_queue_dead_letters
                                                       the local queue, read when scraped
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

from ._multiproc import shared_directory
from ._queue import QueueCollector, QueueReading

_lock = threading.Lock()
_picked_for: list[str | None] = [None]  # the directory the value class was picked for


def _pick_value_class() -> None:
    """prometheus-client picks where values are kept once, at its import, from
    PROMETHEUS_MULTIPROC_DIR; a source module that imports it (runrun imports main.py before
    the directory is named) would leave each worker counting for itself. So the class is
    picked again here when it is not the one for the directory named now: files in that
    directory, or memory when none is named."""
    directory = shared_directory()
    with _lock:
        multiprocess = getattr(values.ValueClass, "_multiprocess", False)
        if directory is None:
            if multiprocess:
                values.ValueClass = values.MutexValue
        elif not multiprocess or _picked_for[0] not in (None, directory):
            # (A class picked at import, with the directory named already, is kept: values
            # it made must not share their files with a second class's.)
            values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
        _picked_for[0] = directory


class PrometheusSink:
    """The metrics one process counts into (see the module docstring)."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        _pick_value_class()
        self.registry = CollectorRegistry(auto_describe=False)
        self.deliveries = Counter(
            "runrun_deliveries",
            "Requests to receiving targets, by outcome and reason class.",
            ("target", "outcome", "reason"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "runrun_receive_seconds",
            "Seconds from a request's arrival to its answer, per receiving target.",
            ("target",),
            buckets=buckets,
            registry=self.registry,
        )
        self.handoff_failures = Counter(
            "runrun_handoff_failures",
            "Deliveries answered 5xx because the queue did not take them.",
            ("target",),
            registry=self.registry,
        )
        self.runs = Counter(
            "runrun_processor_runs",
            "Processor runs, by processor and outcome.",
            ("processor", "outcome"),
            registry=self.registry,
        )
        # The labelled children, looked up without the metric's lock on the hot path (a
        # race only builds the same child twice: prometheus-client returns the same one).
        self._children: dict[tuple[str, ...], Any] = {}

    def _child(self, metric: Any, *labels: str) -> Any:
        key = (metric._name, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def delivery(self, target: str, outcome: str, reason: str, seconds: float) -> None:
        self._child(self.deliveries, target, outcome, reason).inc()
        self._child(self.latency, target).observe(seconds)
        if reason == "handoff":
            self._child(self.handoff_failures, target).inc()

    def run(self, processor: str, outcome: str) -> None:
        self._child(self.runs, processor, outcome).inc()

    def close(self, timeout: float) -> None:
        """Nothing to flush: every count is in the files (or the registry) already."""


def exposition(sink: PrometheusSink | None, queue: Callable[[], QueueReading]) -> tuple[bytes, str]:
    """The text a scrape gets: every worker's counts (or this process's) and the queue's
    gauges; and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    directory = shared_directory()
    if directory is not None:
        MultiProcessCollector(registry, directory)  # type: ignore[no-untyped-call]
    elif sink is not None:
        for metric in (sink.deliveries, sink.latency, sink.handoff_failures, sink.runs):
            registry.register(metric)
    registry.register(QueueCollector(queue))
    return generate_latest(registry), CONTENT_TYPE_LATEST
