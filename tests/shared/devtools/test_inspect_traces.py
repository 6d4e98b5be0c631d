"""The inspector links each delivery to its trace when traces are on: a runrun worker started
as the server starts it, exporting OTLP to a real receiver; the delivery's row carries the
trace id its spans were exported under, and the RUNRUN_TRACES_LINK page of it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.test import Client

from runrun import build_app, discover
from shared import reload_settings, stop_runtime
from shared.serving import ServingHooks
from tests.support.otlp_receiver import OtlpReceiver, otlp_receiver
from tests.support.pubsub_util import SECRET, github_headers, push_body
from tests.support.runrun_scenarios import corpus
from tests.support.traces_kit import CALLER_TRACE, TRACEPARENT

STATE = "/_runrun/inspect/api/state"
LINK = "http://127.0.0.1:16686/trace/{trace_id}"  # a local Jaeger's page of one trace


@pytest.fixture
def dev_worker(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("RUNRUN_DEV", "1")
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    yield
    stop_runtime()


def delivered(extra: dict[str, str]) -> dict[str, object]:
    """Start a worker, send one delivery, and return its row in the inspector's state."""
    reload_settings()
    ServingHooks(package="functions").worker_started()
    client = Client(build_app(discover(corpus.MAIN_SOURCE)))
    delivery_id = str(uuid.uuid4())
    body = push_body(ref="refs/heads/topic")
    headers = {**github_headers(body, delivery_id), **extra}
    assert client.post("/github_webhook", data=body, headers=headers).status_code == 200
    state = client.get(STATE).get_json()
    [row] = [d for d in state["deliveries"] if d["delivery_id"] == delivery_id]
    return dict(row)


def test_a_delivery_links_to_its_trace(dev_worker: None, monkeypatch: pytest.MonkeyPatch) -> None:
    receiver: OtlpReceiver
    with otlp_receiver() as receiver:
        monkeypatch.setenv("RUNRUN_TRACES", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        monkeypatch.setenv("RUNRUN_TRACES_LINK", LINK)
        row = delivered({"traceparent": TRACEPARENT})
        stop_runtime()  # its spans exported

        assert row["trace_id"] == CALLER_TRACE
        assert row["trace_url"] == LINK.replace("{trace_id}", CALLER_TRACE)
        assert CALLER_TRACE in {s.trace_id for s in receiver.spans}


def test_an_unsampled_delivery_has_no_link(
    dev_worker: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller said not sampled (flags 00): no span is exported, so nothing to link to."""
    with otlp_receiver() as receiver:
        monkeypatch.setenv("RUNRUN_TRACES", "otlp")
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint)
        row = delivered({"traceparent": TRACEPARENT[:-2] + "00"})
        stop_runtime()

        assert row["trace_id"] is None and row["trace_url"] is None
        assert receiver.spans == []


def test_with_traces_off_there_is_no_trace_column_to_fill(dev_worker: None) -> None:
    row = delivered({"traceparent": TRACEPARENT})
    assert row["trace_id"] is None
    assert "trace_url" not in row
