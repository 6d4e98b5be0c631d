"""The OpenTelemetry SDK set up from the settings: one tracer provider per process (built by
the runtime in the process that serves, never in a pre-fork master), its spans batched and
exported over OTLP/HTTP: to a collector of your own, or to Cloud Trace through Google's
Telemetry API.

The SDK reads its own variables: the sampler (OTEL_TRACES_SAMPLER, default
parentbased_always_on), the batch processor's delays (OTEL_BSP_*) and, for OTLP, the
endpoint, headers and timeout (OTEL_EXPORTER_OTLP_*; http://localhost:4318 by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.settings import ConfigError, Settings
from shared.settings._traces import TraceSettings
from shared.tracing._spans import OtelTracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

# The Telemetry (OTLP) API's scope for writing spans (cloud.google.com/stackdriver/docs/
# reference/telemetry/api); the account needs roles/telemetry.tracesWriter.
TRACE_SCOPE = "https://www.googleapis.com/auth/trace.append"


def make_tracer(
    settings: Settings, project: str | None, exporter: SpanExporter | None = None
) -> OtelTracer:
    """The tracer the settings ask for; `exporter` given here replaces theirs (tests).

    Raises:
        ConfigError: Cloud Trace without a project, or without credentials to reach it.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    traces = settings.traces
    resource: dict[str, str] = {"service.name": traces.service}
    if traces.exporter == "cloud-trace":
        if not project:
            raise ConfigError(
                "RUNRUN_TRACES=cloud-trace needs the project: set GOOGLE_CLOUD_PROJECT"
            )
        # The Telemetry API files each span under the project this attribute names.
        resource["gcp.project_id"] = project
    chosen = exporter or _exporter(traces)
    provider = TracerProvider(resource=Resource.create(resource))
    provider.add_span_processor(BatchSpanProcessor(chosen))
    return OtelTracer(provider)


def _exporter(traces: TraceSettings) -> SpanExporter:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    if traces.exporter == "otlp":
        return OTLPSpanExporter()  # where OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT says
    if traces.exporter != "cloud-trace":
        raise ConfigError(f"no span exporter for RUNRUN_TRACES={traces.exporter}")
    # Google's own Cloud Trace exporter is deprecated in favour of OTLP to the Telemetry
    # API, authorized with the service's credentials
    # (cloud.google.com/trace/docs/migrate-to-otlp-endpoints).
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError
    from google.auth.transport.requests import AuthorizedSession

    try:
        credentials, _ = google.auth.default(scopes=[TRACE_SCOPE])
    except DefaultCredentialsError as exc:
        raise ConfigError(
            f"RUNRUN_TRACES=cloud-trace: no credentials for Cloud Trace ({exc})"
        ) from None
    session = AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
    return OTLPSpanExporter(endpoint=traces.cloud_endpoint, session=session)
