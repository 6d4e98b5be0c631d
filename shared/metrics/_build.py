"""Building the metrics from the settings: the observer a worker's runtime counts through,
the endpoint runrun mounts, and the directory the workers share. Each imports its metrics
library only when the settings ask for it: off, nothing is imported and nothing is mounted."""

from __future__ import annotations

import shared.providers as providers
from shared.backends.handoff import LocalQueue
from shared.providers import Provider
from shared.runtime import Runtime, current_runtime
from shared.settings import ConfigError, Settings, safety_margin

from ._endpoint import MetricsEndpoint
from ._labels import latency_buckets
from ._multiproc import prepare_directory
from ._observer import MetricsObserver, Sink
from ._queue import QueueReading


def check_and_prepare(settings: Settings) -> None:
    """In the serving process, before any worker starts: refuse settings that cannot work,
    and give the workers their shared directory when the endpoint is served.

    Raises:
        ConfigError: RUNRUN_METRICS=1 without a token outside dev mode.
    """
    refusal = settings.metrics.refusal()
    if refusal is not None:
        raise ConfigError(refusal)
    if settings.metrics.served:
        prepare_directory(settings.server.state_dir)


def metrics_observer(settings: Settings) -> MetricsObserver | None:
    """The observer counting into every sink the settings turn on; None when none is."""
    metrics = settings.metrics
    if not metrics.collected:
        return None
    buckets = receive_buckets(settings)
    sinks: list[Sink] = []
    if metrics.served:
        from ._prometheus import PrometheusSink

        sinks.append(PrometheusSink(buckets))
    if metrics.exported:
        from ._cloud_monitoring import CloudMonitoringSink

        cloud_run = settings.server.on_cloud_run
        sinks.append(
            CloudMonitoringSink(metrics, settings.server.project, buckets, on_cloud_run=cloud_run)
        )
    return MetricsObserver(sinks)


def metrics_endpoint(settings: Settings) -> MetricsEndpoint | None:
    """The app behind `/_runrun/metrics`, or None when the metrics are not served."""
    if not settings.metrics.served:
        return None
    return MetricsEndpoint(settings.metrics.token, _exposition)


def _exposition() -> tuple[bytes, str]:
    from ._prometheus import PrometheusSink, exposition

    runtime = current_runtime()
    observer = runtime.observers.find(MetricsObserver)
    sink = observer.find(PrometheusSink) if observer is not None else None
    return exposition(sink, lambda: local_backlog(runtime))


def local_backlog(runtime: Runtime) -> QueueReading:
    """The local queue's backlog where this process's deliveries go to it; else None."""
    publisher = runtime.built_publisher()
    return publisher.backlog() if isinstance(publisher, LocalQueue) else None


def receive_buckets(settings: Settings) -> tuple[float, ...]:
    """Latency buckets around every shipped provider's answer window and its deadline,
    and around the deadlines the settings give (RUNRUN_DEADLINE_SECONDS[_<TARGET>])."""
    shipped = [getattr(providers, name) for name in providers.__all__]
    windows = [
        p.answer_window_seconds
        for p in shipped
        if isinstance(p, Provider) and p.answer_window_seconds is not None
    ]
    deadlines = [w - safety_margin(w) for w in windows]
    receive = settings.receive
    deadlines += [receive.deadline_seconds, *receive.deadline_overrides.values()]
    return latency_buckets(windows, deadlines)
