"""The traces' settings: whether spans are made, where they go, and how the inspector links
a delivery to its trace. Off unless RUNRUN_TRACES says otherwise.

    RUNRUN_TRACES        off (default) | on | cloud-trace | otlp
                         `on`: Cloud Trace on Cloud Run (K_SERVICE set), OTLP elsewhere;
                         both are OTLP/HTTP, Cloud Trace's through Google's Telemetry API
    RUNRUN_TRACES_LINK   a URL with {trace_id} for the inspector (a local Jaeger or Tempo)
    OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG, OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT,
    OTEL_SERVICE_NAME    OpenTelemetry's own variables, read by its SDK: checked here so
                         that a typo is refused at start instead of silently ignored

The SDK's default sampler (parentbased_always_on) is kept: an incoming `traceparent` or
`X-Cloud-Trace-Context` decides whether a delivery is sampled, and a delivery without one is
always sampled (see docs/observability.md, "Sampling", for why and how to change it).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings._env import ConfigError, env_choice, env_switch, env_text

TRACES = ("off", "on", "cloud-trace", "otlp")
# What opentelemetry-sdk's `OTEL_TRACES_SAMPLER` accepts (sdk/trace/sampling.py).
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
_RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")
# cloud.google.com/stackdriver/docs/reference/telemetry/api
TELEMETRY_ENDPOINT = "https://telemetry.googleapis.com/v1/traces"


@dataclass(frozen=True)
class TraceSettings:
    """Where spans go (`exporter`: "off", "cloud-trace" or "otlp"), and the inspector's link."""

    exporter: str = "off"
    link: str | None = None  # RUNRUN_TRACES_LINK, with {trace_id}
    service: str = "runrun"  # the spans' service.name: OTEL_SERVICE_NAME, else K_SERVICE
    # Where "cloud-trace" sends spans: Google's Telemetry (OTLP) API, unless
    # OTEL_EXPORTER_OTLP_TRACES_ENDPOINT names another (a stand-in in tests).
    cloud_endpoint: str = TELEMETRY_ENDPOINT

    @property
    def on(self) -> bool:
        return self.exporter != "off"


def trace_settings(on_cloud_run: bool) -> TraceSettings:
    """RUNRUN_TRACES and what goes with it, checked together.

    Raises:
        ConfigError: a value the SDK would ignore or misread.
    """
    chosen = env_choice("RUNRUN_TRACES", TRACES, "off")
    if chosen == "on":
        chosen = "cloud-trace" if on_cloud_run else "otlp"
    if env_switch("OTEL_SDK_DISABLED"):
        chosen = "off"  # OpenTelemetry's own switch for every signal
    _check_sampler()
    link = env_text("RUNRUN_TRACES_LINK") or None
    if link is not None and (
        "{trace_id}" not in link or not link.startswith(("https://", "http://"))
    ):
        raise ConfigError(
            f"RUNRUN_TRACES_LINK must be an http(s) URL containing {{trace_id}}, got {link!r}"
        )
    service = env_text("OTEL_SERVICE_NAME") or env_text("K_SERVICE") or "runrun"
    cloud_endpoint = env_text("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or TELEMETRY_ENDPOINT
    return TraceSettings(chosen, link, service, cloud_endpoint)


def _check_sampler() -> None:
    sampler = env_choice("OTEL_TRACES_SAMPLER", SAMPLERS, "parentbased_always_on")
    raw = env_text("OTEL_TRACES_SAMPLER_ARG")
    if not raw:
        return
    if sampler not in _RATIO_SAMPLERS:
        raise ConfigError(
            f"OTEL_TRACES_SAMPLER_ARG is only read by {' and '.join(_RATIO_SAMPLERS)}, "
            f"but OTEL_TRACES_SAMPLER is {sampler}"
        )
    try:
        ratio = float(raw)
    except ValueError:
        raise ConfigError(f"OTEL_TRACES_SAMPLER_ARG must be a number, got {raw!r}") from None
    if not 0.0 <= ratio <= 1.0:
        raise ConfigError(f"OTEL_TRACES_SAMPLER_ARG must be between 0 and 1, got {raw!r}")
