"""A real OTLP/HTTP trace receiver on 127.0.0.1: what a collector (or Jaeger, Tempo) is to a
server exporting with RUNRUN_TRACES=otlp. It decodes each export request with the protobuf
types OpenTelemetry publishes (`opentelemetry-proto`, which the exporter itself depends on)
and keeps every span, so a test can wait for the spans it expects and read them."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

TRACES_PATH = "/v1/traces"  # the exporter appends it to OTEL_EXPORTER_OTLP_ENDPOINT


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str  # "" for a root span
    kind: int  # the protobuf's Span.SpanKind: 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER
    attributes: dict[str, Any]
    status_code: int  # 0 unset, 1 ok, 2 error
    resource: dict[str, Any]

    @property
    def service(self) -> str:
        return str(self.resource.get("service.name", ""))


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def _spans(request: ExportTraceServiceRequest) -> list[ReceivedSpan]:
    found = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                found.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        status_code=span.status.code,
                        resource=resource,
                    )
                )
    return found


@dataclass
class OtlpReceiver:
    endpoint: str = ""  # for OTEL_EXPORTER_OTLP_ENDPOINT
    spans: list[ReceivedSpan] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # every export request's bytes, decoded
    headers: list[dict[str, str]] = field(default_factory=list)  # each export's, lower-case
    refused: list[str] = field(default_factory=list)  # requests that were not OTLP traces
    changed: threading.Condition = field(default_factory=threading.Condition)

    def wait(
        self, condition: Callable[[list[ReceivedSpan]], bool], what: str, timeout: float = 120.0
    ) -> list[ReceivedSpan]:
        """Every span received once `condition(spans)` holds; fails after `timeout` (a safety
        net for a hang, not a timing check: each export wakes the wait)."""
        with self.changed:
            if not self.changed.wait_for(lambda: condition(list(self.spans)), timeout):
                names = sorted(s.name for s in self.spans)
                raise AssertionError(f"gave up waiting for {what}; spans received: {names}")
            return list(self.spans)


@contextmanager
def otlp_receiver() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path != TRACES_PATH or self.headers.get_content_type() != (
                "application/x-protobuf"
            ):
                with receiver.changed:
                    receiver.refused.append(f"{self.path} {self.headers.get_content_type()}")
                self._answer(404, b"")
                return
            request = ExportTraceServiceRequest.FromString(body)
            with receiver.changed:
                receiver.raw.append(body)
                receiver.headers.append({k.lower(): v for k, v in self.headers.items()})
                receiver.spans.extend(_spans(request))
                receiver.changed.notify_all()
            self._answer(200, ExportTraceServiceResponse().SerializeToString())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
