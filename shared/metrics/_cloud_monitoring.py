"""The same figures sent to Cloud Monitoring through OpenTelemetry (RUNRUN_METRICS_EXPORT=
cloud-monitoring): an OpenTelemetry MeterProvider of this process's own (the global one is
left alone), read every RUNRUN_METRICS_EXPORT_INTERVAL_SECONDS by a periodic reader whose
exporter is `opentelemetry-exporter-gcp-monitoring`'s.

Imported only when the export is configured: off, no OpenTelemetry module is loaded.

- Metric types are `workload.googleapis.com/runrun_deliveries` and so on (the exporter's
  prefix), one time series per label set and per worker process: several processes of one
  instance write the same series, and Cloud Monitoring refuses points written to one series
  more often than every 5 seconds (cloud.google.com/monitoring/quotas), so each exporter adds
  its own `opentelemetry_id` label (`add_unique_identifier`). Sum over it when charting.
- On Cloud Run the resource is detected (`generic_task`: location, service, instance).
- RUNRUN_METRICS_EXPORT_ENDPOINT points the exporter at a local stand-in (tests): plain
  gRPC, no credentials.

The exporter package marks its exporter deprecated in favour of OTLP to Google's Telemetry
API, whose metric names differ (`prometheus.googleapis.com/...`); docs/observability.md says
what moving would change. The deprecation warning is silenced where it is built, once.
"""

from __future__ import annotations

import warnings
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from shared.settings import MetricsSettings


class CloudMonitoringSink:
    """Counts into OpenTelemetry instruments that a periodic reader exports."""

    def __init__(
        self,
        settings: MetricsSettings,
        project: str | None,
        buckets: tuple[float, ...],
        *,
        on_cloud_run: bool,
    ) -> None:
        exporter = _exporter(settings, project)
        reader = PeriodicExportingMetricReader(
            exporter, export_interval_millis=settings.export_interval_seconds * 1000
        )
        self.provider = MeterProvider(metric_readers=[reader], resource=_resource(on_cloud_run))
        meter = self.provider.get_meter("runrun")
        self.deliveries = meter.create_counter(
            "runrun_deliveries", unit="1", description="Requests to receiving targets."
        )
        self.latency = meter.create_histogram(
            "runrun_receive_seconds",
            unit="s",
            description="Seconds from a request's arrival to its answer.",
            explicit_bucket_boundaries_advisory=list(buckets),
        )
        self.handoff_failures = meter.create_counter(
            "runrun_handoff_failures", unit="1", description="Deliveries the queue did not take."
        )
        self.runs = meter.create_counter(
            "runrun_processor_runs", unit="1", description="Processor runs, by outcome."
        )

    def delivery(self, target: str, outcome: str, reason: str, seconds: float) -> None:
        self.deliveries.add(1, {"target": target, "outcome": outcome, "reason": reason})
        self.latency.record(seconds, {"target": target})
        if reason == "handoff":
            self.handoff_failures.add(1, {"target": target})

    def run(self, processor: str, outcome: str) -> None:
        self.runs.add(1, {"processor": processor, "outcome": outcome})

    def close(self, timeout: float) -> None:
        """Export what was counted since the last export, then stop the reader."""
        self.provider.shutdown(timeout_millis=timeout * 1000)


def _exporter(settings: MetricsSettings, project: str | None) -> Any:
    from opentelemetry.exporter.cloud_monitoring import CloudMonitoringMetricsExporter

    client = None
    if settings.export_endpoint:
        import grpc
        from google.cloud.monitoring_v3 import MetricServiceClient
        from google.cloud.monitoring_v3.services.metric_service.transports import (
            MetricServiceGrpcTransport,
        )

        channel = grpc.insecure_channel(settings.export_endpoint)
        client = MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))
    with warnings.catch_warnings():
        # The package's own deprecation notice (see the module docstring), raised each time
        # an exporter is built: once per worker, at start, not a fault of this process.
        warnings.simplefilter("ignore", DeprecationWarning)
        return CloudMonitoringMetricsExporter(
            project_id=project, client=client, add_unique_identifier=True
        )


def _resource(on_cloud_run: bool) -> Resource:
    resource = Resource.create({"service.name": "runrun"})
    if not on_cloud_run:  # the detector asks the metadata server, which only Google runs
        return resource
    from opentelemetry.resourcedetector.gcp_resource_detector import GoogleCloudResourceDetector

    return resource.merge(GoogleCloudResourceDetector(raise_on_error=False).detect())
