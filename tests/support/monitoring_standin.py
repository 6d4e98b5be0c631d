"""A local gRPC stand-in for the two Cloud Monitoring calls the OpenTelemetry exporter makes:
CreateMetricDescriptor and CreateTimeSeries of `google.monitoring.v3.MetricService`, spoken
with the official client's own request types (google-cloud-monitoring). It keeps what it was
sent, and refuses what the API reference of CreateTimeSeriesRequest says it takes no more of
(cloud.google.com/python/docs/reference/monitoring/latest/google.cloud.monitoring_v3.types.CreateTimeSeriesRequest):
more than 200 time series in one request; more than one point of a series ("adds at most
one data point to each of several time series"); a point no more recent than the last one
of its series; a series that does not supply every label of its metric's descriptor.

A contract test of our use of the exporter: not Cloud Monitoring (no auth, no quotas over
time, no check of the monitored resource's labels).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from google.cloud import monitoring_v3
from google.protobuf import empty_pb2

SERVICE = "google.monitoring.v3.MetricService"
MAX_SERIES_PER_WRITE = 200


class MonitoringStandIn:
    def __init__(self) -> None:
        self.descriptors: dict[str, Any] = {}  # type -> MetricDescriptor
        self.series: list[Any] = []  # every TimeSeries accepted, in order
        self._last_end: dict[Any, Any] = {}  # series -> its last point's end time
        self.written = threading.Condition()
        self._server = grpc.server(ThreadPoolExecutor(max_workers=4))
        handlers = {
            "CreateMetricDescriptor": grpc.unary_unary_rpc_method_handler(
                self._create_descriptor,
                request_deserializer=monitoring_v3.CreateMetricDescriptorRequest.deserialize,
                response_serializer=lambda descriptor: descriptor.SerializeToString(),
            ),
            "CreateTimeSeries": grpc.unary_unary_rpc_method_handler(
                self._create_time_series,
                request_deserializer=monitoring_v3.CreateTimeSeriesRequest.deserialize,
                response_serializer=empty_pb2.Empty.SerializeToString,
            ),
        }
        self._server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, handlers),)
        )
        port = self._server.add_insecure_port("127.0.0.1:0")
        self.host = f"127.0.0.1:{port}"

    def start(self) -> MonitoringStandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=None)

    def _create_descriptor(self, request: Any, context: grpc.ServicerContext) -> Any:
        descriptor = request.metric_descriptor
        with self.written:
            self.descriptors[descriptor.type] = descriptor
        return descriptor

    def _create_time_series(self, request: Any, context: grpc.ServicerContext) -> Any:
        if len(request.time_series) > MAX_SERIES_PER_WRITE:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "more than 200 time series")
        seen = set()
        with self.written:
            for series in request.time_series:
                key = (series.metric.type, tuple(sorted(series.metric.labels.items())))
                if key in seen or len(series.points) != 1:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "one point per series")
                seen.add(key)
                descriptor = self.descriptors.get(series.metric.type)
                labels = {label.key for label in descriptor.labels} if descriptor else None
                if labels is not None and set(series.metric.labels) != labels:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"labels of {key}")
                end = series.points[0].interval.end_time
                if key in self._last_end and end <= self._last_end[key]:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, "point not more recent")
                self._last_end[key] = end
            self.series.extend(request.time_series)
            self.written.notify_all()
        return empty_pb2.Empty()

    def latest(self, metric_type: str) -> dict[tuple[tuple[str, str], ...], Any]:
        """The last point written of each series of `metric_type`, by its sorted labels."""
        with self.written:
            found = {}
            for series in self.series:
                if series.metric.type == metric_type:
                    found[tuple(sorted(series.metric.labels.items()))] = series.points[0]
            return found
