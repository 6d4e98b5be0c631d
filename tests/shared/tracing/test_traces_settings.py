"""The traces' settings (shared/settings/_traces.py) and what the runtime builds from them:
off by default, `on` meaning Cloud Trace on Cloud Run and OTLP elsewhere, every bad value
refused at start with a message naming the variable, and the inspector's link per exporter."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared import ConfigError, Runtime, reload_settings
from shared.tracing import trace_link
from shared.tracing._setup import TRACE_SCOPE
from tests.support.fcm_standin import TOKEN as ACCESS_TOKEN
from tests.support.fcm_standin import fcm_stand_in
from tests.support.otlp_receiver import TRACES_PATH, otlp_receiver


@pytest.mark.parametrize(
    ("env", "exporter"),
    [
        ({}, "off"),
        ({"RUNRUN_TRACES": "otlp"}, "otlp"),
        ({"RUNRUN_TRACES": "on"}, "otlp"),
        ({"RUNRUN_TRACES": "on", "K_SERVICE": "runrun"}, "cloud-trace"),
        ({"RUNRUN_TRACES": "Cloud-Trace"}, "cloud-trace"),
        # An OTLP endpoint alone does not switch traces on: RUNRUN_TRACES does.
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, "off"),
        ({"RUNRUN_TRACES": "otlp", "OTEL_SDK_DISABLED": "true"}, "off"),
    ],
)
def test_which_exporter(
    env: dict[str, str], exporter: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert reload_settings().traces.exporter == exporter


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"RUNRUN_TRACES": "jaeger"}, "RUNRUN_TRACES must be one of off, on, cloud-trace, otlp"),
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER must be one of"),
        ({"OTEL_TRACES_SAMPLER_ARG": "0.5"}, "only read by traceidratio"),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
            "OTEL_TRACES_SAMPLER_ARG must be a number",
        ),
        (
            {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"},
            "between 0 and 1",
        ),
        ({"RUNRUN_TRACES_LINK": "http://jaeger:16686/trace/"}, "containing {trace_id}"),
        ({"RUNRUN_TRACES_LINK": "jaeger/{trace_id}"}, "an http(s) URL"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        reload_settings()
    for name in env:  # the fixtures' teardown reads the settings again
        monkeypatch.delenv(name)
    assert message in str(refused.value)


def test_cloud_trace_without_a_project_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNRUN_TRACES", "cloud-trace")
    with pytest.raises(ConfigError, match="needs the project: set GOOGLE_CLOUD_PROJECT"):
        Runtime(reload_settings(), run_queue_worker=False).start()


def test_cloud_trace_without_credentials_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNRUN_TRACES", "cloud-trace")
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "runrun-traces")
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # no metadata server to ask on this machine
    monkeypatch.setenv("HOME", "/nonexistent")  # nor a developer's gcloud credentials
    monkeypatch.setenv("CLOUDSDK_CONFIG", "/nonexistent")
    with pytest.raises(ConfigError, match="no credentials for Cloud Trace"):
        Runtime(reload_settings(), run_queue_worker=False).start()


def test_cloud_trace_is_otlp_to_the_telemetry_api_with_the_services_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RUNRUN_TRACES=on on Cloud Run: spans go to Google's Telemetry (OTLP) API, authorized
    by the service's credentials (a real OAuth JWT-bearer exchange with a stand-in of
    Google's token endpoint), under the project's gcp.project_id; a local receiver stands
    in for the API (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)."""
    with fcm_stand_in(tmp_path) as (google, credentials), otlp_receiver() as telemetry:
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))
        monkeypatch.setenv("RUNRUN_TRACES", "on")
        monkeypatch.setenv("K_SERVICE", "webhooks")
        monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "runrun-traces")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", telemetry.endpoint + TRACES_PATH)
        runtime = Runtime(reload_settings(), run_queue_worker=False).start()
        assert runtime.tracer is not None
        with runtime.tracer.step("probe", {"runrun.target": "github_webhook"}):
            pass
        runtime.stop()  # exports what is pending

        (span,) = telemetry.spans
        assert span.name == "probe"
        assert span.resource["gcp.project_id"] == "runrun-traces"
        assert span.service == "webhooks"
        assert telemetry.headers[0]["authorization"] == f"Bearer {ACCESS_TOKEN}"
        (exchange,) = google.token_requests
        assert exchange["claims"]["scope"] == TRACE_SCOPE


@pytest.mark.parametrize(
    ("env", "link"),
    [
        ({}, None),
        ({"RUNRUN_TRACES": "otlp"}, None),
        (
            {
                "RUNRUN_TRACES": "otlp",
                "RUNRUN_TRACES_LINK": "http://127.0.0.1:16686/trace/{trace_id}",
            },
            "http://127.0.0.1:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736",
        ),
        (
            {"RUNRUN_TRACES": "cloud-trace"},
            "https://console.cloud.google.com/traces/list?project=acme-hooks"
            "&tid=4bf92f3577b34da6a3ce929d0e0e4736",
        ),
    ],
)
def test_the_inspectors_link_to_a_trace(
    env: dict[str, str], link: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = reload_settings()
    assert trace_link(settings, "acme-hooks", "4bf92f3577b34da6a3ce929d0e0e4736") == link
