"""The metrics sent to Cloud Monitoring through OpenTelemetry: deliveries through the real
receive pipeline, counted by the observer, exported by `opentelemetry-exporter-gcp-monitoring`
over the official Monitoring client to a local stand-in of the API (tests/support/
monitoring_standin.py). A contract test of our use of the exporter: what it sends, with
which metric types, labels and values. Unproven here: Google's acceptance of it (auth, the
resource's labels on Cloud Run, quotas over time)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import Runtime, using_runtime
from shared.metrics import MetricsObserver, metrics_observer
from shared.settings import reload_settings
from tests.support.monitoring_standin import MonitoringStandIn
from tests.support.pubsub_util import SECRET, github_headers, make_app

PREFIX = "workload.googleapis.com/"


@pytest.fixture
def stand_in() -> Iterator[MonitoringStandIn]:
    server = MonitoringStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def exporting(
    stand_in: MonitoringStandIn, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[MetricsObserver]:
    monkeypatch.setenv("RUNRUN_METRICS_EXPORT", "cloud-monitoring")
    monkeypatch.setenv("RUNRUN_METRICS_EXPORT_ENDPOINT", stand_in.host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "acme")
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    settings = reload_settings()
    observer = metrics_observer(settings)
    assert observer is not None
    with using_runtime(Runtime(settings, observers=[observer], run_queue_worker=False)):
        yield observer


def test_deliveries_reach_the_monitoring_api_as_workload_metrics(
    exporting: MetricsObserver, stand_in: MonitoringStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = make_app("github_webhook", monkeypatch).test_client()
    for good in (True, True, True, False):
        body = json.dumps({"zen": "export"}).encode()
        secret = SECRET if good else "not-the-secret"
        client.post("/", data=body, headers=github_headers(body, str(uuid.uuid4()), secret=secret))
    exporting.close(10.0)  # the periodic reader exports what is left, then stops

    deliveries = stand_in.latest(PREFIX + "runrun_deliveries")
    counts = {
        tuple((k, v) for k, v in labels if k != "opentelemetry_id"): point.value.int64_value
        for labels, point in deliveries.items()
    }
    assert counts == {
        (("outcome", "accepted"), ("reason", ""), ("target", "github_webhook")): 3,
        (("outcome", "rejected"), ("reason", "signature"), ("target", "github_webhook")): 1,
    }
    # Each worker's exporter labels its series apart: several processes write at once.
    assert all(dict(labels).get("opentelemetry_id") for labels in deliveries)
    [latency] = stand_in.latest(PREFIX + "runrun_receive_seconds").values()
    distribution = latency.value.distribution_value
    assert distribution.count == 4
    bounds = list(distribution.bucket_options.explicit_buckets.bounds)
    assert {2.0, 3.0, 8.0, 10.0} <= set(bounds)  # Slack's and GitHub's deadline and window
    descriptor = stand_in.descriptors[PREFIX + "runrun_deliveries"]
    assert {label.key for label in descriptor.labels} >= {"target", "outcome", "reason"}


def test_processor_runs_are_exported(
    exporting: MetricsObserver, stand_in: MonitoringStandIn
) -> None:
    from shared import RunReport

    for outcome in ("ran", "ran", "failed"):
        exporting.run(RunReport("github_webhook", "d1", "push", "store", outcome))
    exporting.close(10.0)
    runs = {
        dict(labels)["outcome"]: point.value.int64_value
        for labels, point in stand_in.latest(PREFIX + "runrun_processor_runs").items()
    }
    assert runs == {"ran": 2, "failed": 1}


def test_export_off_builds_no_exporter(isolated_env: Path) -> None:
    settings = reload_settings()
    assert not settings.metrics.exported
    assert metrics_observer(settings) is None
