"""The metrics in one process, as the bundle's hooks set them up: when the endpoint is
mounted (and when a start is refused), what one worker counts and shows when no shared
directory was named, a hand-off failure and the local queue's gauges."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import Client

from runrun import build_app, discover
from shared import BackendUnavailable, ConfigError, MemoryPublisher, Runtime, using_runtime
from shared.metrics import MetricsObserver, metrics_observer
from shared.serving import ServingHooks
from shared.settings import reload_settings
from tests.support.pubsub_util import SECRET, github_headers, make_app
from tests.support.runrun_scenarios import corpus

TOKEN = "hooks-metrics-token"


def _hooks() -> ServingHooks:
    return ServingHooks(package="functions")


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.mark.parametrize(
    ("env", "served"),
    [
        ({"RUNRUN_DEV": "1"}, True),  # dev mode: on, open
        ({"RUNRUN_DEV": "1", "RUNRUN_METRICS": "0"}, False),
        ({}, False),  # off by default
        ({"RUNRUN_METRICS": "1", "RUNRUN_METRICS_TOKEN": TOKEN}, True),
        ({"K_SERVICE": "svc", "RUNRUN_METRICS": "1", "RUNRUN_METRICS_TOKEN": TOKEN}, True),
        ({"RUNRUN_METRICS_EXPORT": "cloud-monitoring"}, False),  # exported, not served
    ],
)
def test_the_endpoint_is_mounted_only_when_served(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], served: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = reload_settings()
    assert settings.metrics.served is served
    assert ("metrics" in _hooks().routes(["github_webhook"])) is served


def test_metrics_switched_on_without_a_token_refuse_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNRUN_METRICS", "1")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    reload_settings()
    with pytest.raises(ConfigError, match="RUNRUN_METRICS_TOKEN"):
        _hooks().check(["github_webhook"], ["github_webhook", "process_delivery"])


def test_an_export_interval_below_cloud_monitorings_rate_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNRUN_METRICS_EXPORT_INTERVAL_SECONDS", "2")
    with pytest.raises(ConfigError, match="at least 10"):
        reload_settings()
    monkeypatch.delenv("RUNRUN_METRICS_EXPORT_INTERVAL_SECONDS")  # the teardown reads them


def test_the_start_hook_names_an_empty_shared_directory(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_METRICS", "1")
    monkeypatch.setenv("RUNRUN_METRICS_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    stale = isolated_env / "metrics" / "999999999"  # a server no longer running left it
    stale.mkdir(parents=True)
    (stale / "counter_1.db").write_bytes(b"old counts")
    reload_settings()
    _hooks().check(["github_webhook"], ["github_webhook", "process_delivery"])
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert directory.parent == isolated_env / "metrics"
    assert directory.name == str(os.getpid())
    assert list(directory.iterdir()) == []
    assert not stale.exists()


@pytest.fixture
def one_worker(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Client]:
    """A worker in dev mode on the embedded backends, its runtime built by the bundle's hook,
    and runrun's app (targets plus /_runrun/*) in front of it."""
    monkeypatch.setenv("RUNRUN_DEV", "1")
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    reload_settings()
    _hooks().worker_started()
    yield Client(build_app(discover(corpus.MAIN_SOURCE)))


def _github(client: Client, secret: str = SECRET) -> int:
    body = json.dumps({"zen": "hooks"}).encode()
    headers = github_headers(body, str(uuid.uuid4()), secret=secret)
    return client.post("/github_webhook", data=body, headers=headers).status_code


def test_one_worker_counts_and_shows_without_a_shared_directory(one_worker: Client) -> None:
    assert [_github(one_worker), _github(one_worker, "wrong")] == [200, 401]
    answer = one_worker.get("/_runrun/metrics")  # dev mode without a token: open
    assert answer.status_code == 200
    found = samples(answer.get_data(as_text=True))
    key = "runrun_deliveries_total"
    accepted = (("outcome", "accepted"), ("reason", ""), ("target", "github_webhook"))
    rejected = (("outcome", "rejected"), ("reason", "signature"), ("target", "github_webhook"))
    assert found[(key, accepted)] == 1
    assert found[(key, rejected)] == 1
    assert found[("runrun_receive_seconds_count", (("target", "github_webhook"),))] == 2
    assert ("runrun_queue_depth", ()) in found  # the local queue's gauges, read at the scrape


def test_a_queue_that_refuses_is_a_handoff_failure(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_DEV", "1")
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    settings = reload_settings()

    def down(message: Any) -> str:
        raise BackendUnavailable("queue down", retry_after=5)

    observer = metrics_observer(settings)
    assert isinstance(observer, MetricsObserver)
    runtime = Runtime(settings, publisher=MemoryPublisher(down), observers=[observer])
    with using_runtime(runtime):
        app = make_app("github_webhook", monkeypatch)
        body = b'{"zen": "down"}'
        answer = app.test_client().post("/", data=body, headers=github_headers(body, "d-down"))
        assert answer.status_code == 503
        from shared.metrics._prometheus import PrometheusSink, exposition

        text, _ = exposition(observer.find(PrometheusSink), lambda: None)
    found = samples(text.decode())
    failed = (("outcome", "server_error"), ("reason", "handoff"), ("target", "github_webhook"))
    assert found[("runrun_deliveries_total", failed)] == 1
    assert found[("runrun_handoff_failures_total", (("target", "github_webhook"),))] == 1
