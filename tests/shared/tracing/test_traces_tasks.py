"""The trace context through Cloud Tasks, on the gRPC stand-in (tests/support/tasks_standin.py)
through the official client: the task carries the hand-off span's `traceparent` as a header
(so Cloud Run's own span of the task's request joins the trace) and in the event it POSTs;
process_delivery, given the task's request, continues the same trace."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared import Runtime, install_runtime, reload_settings, stop_runtime
from tests.support.pubsub_util import SECRET, github_headers, make_app, push_body
from tests.support.tasks_standin import CloudTasksStandIn
from tests.support.traces_kit import TRACEPARENT, check_one_trace, from_sdk, of_delivery

QUEUE = "projects/runrun-test/locations/europe-west1/queues/deliveries"


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudTasksStandIn]:
    server = CloudTasksStandIn().start()
    monkeypatch.setenv("RUNRUN_QUEUE", "tasks")
    monkeypatch.setenv("RUNRUN_STORE", "memory")
    monkeypatch.setenv("RUNRUN_TASKS_QUEUE", QUEUE)
    monkeypatch.setenv("RUNRUN_TASKS_URL", "https://runrun.example/process_delivery")
    monkeypatch.setenv("CLOUD_TASKS_EMULATOR_HOST", server.host)
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("RUNRUN_TRACES", "otlp")  # the in-memory exporter replaces OTLP's
    yield server
    server.stop()


def test_a_task_carries_the_trace_to_process_delivery(
    standin: CloudTasksStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    exporter = InMemorySpanExporter()
    install_runtime(Runtime(reload_settings(), span_exporter=exporter).start())
    delivery_id = str(uuid.uuid4())
    body = push_body(ref="refs/heads/feature")
    headers = {**github_headers(body, delivery_id), "traceparent": TRACEPARENT}

    github = make_app("github_webhook", monkeypatch)
    assert github.test_client().post("/", data=body, headers=headers).status_code == 200
    [task] = standin.tasks.values()
    request = task.http_request
    process = make_app("process_delivery", monkeypatch)
    answer = process.test_client().post("/", data=request.body, headers=dict(request.headers))
    assert answer.status_code == 200, answer.get_data(as_text=True)
    stop_runtime()  # exports what is pending

    trace = of_delivery(from_sdk(exporter.get_finished_spans()), delivery_id)
    named = check_one_trace(trace, delivery_id, {"store"})
    handoff = named["hand off"]
    assert named["claim"].parent_span_id == handoff.span_id  # its own step on this route
    assert named["claim"].attributes["runrun.outcome"] == "claimed"
    assert request.headers["traceparent"] == f"00-{handoff.trace_id}-{handoff.span_id}-01"
    assert handoff.attributes["runrun.route"] == "steps"
