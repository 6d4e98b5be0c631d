"""Where a person sees a delivery's trace: the inspector links each delivery to it."""

from __future__ import annotations

from urllib.parse import quote

from shared.settings import Settings

# The Cloud Trace page of one trace in the Google Cloud console.
CLOUD_TRACE_URL = "https://console.cloud.google.com/traces/list?project={project}&tid={trace_id}"


def trace_link(settings: Settings, project: str | None, trace_id: str) -> str | None:
    """The URL of trace `trace_id`: RUNRUN_TRACES_LINK when set (a local Jaeger or Tempo),
    else the Cloud Trace console when spans go there; None when there is no page to show
    (then the inspector shows the trace id alone)."""
    traces = settings.traces
    if not trace_id or not traces.on:
        return None
    if traces.link is not None:
        return traces.link.replace("{trace_id}", quote(trace_id, safe=""))
    if traces.exporter == "cloud-trace" and project:
        return CLOUD_TRACE_URL.format(project=quote(project, safe=""), trace_id=trace_id)
    return None
