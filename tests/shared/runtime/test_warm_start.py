"""Warm starts: the runtime opens the store's and the queue's channels before the first
delivery; under plain functions-framework each worker does it on its first request, and
importing the functions starts nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared import Runtime, get_settings, reload_settings
from tests.support.emulators import Emulators
from tests.support.helpers import free_port
from tests.support.pubsub_util import SECRET, warm_up
from tests.support.runrun_scenarios.processes import ROOT, Server, base_env


def warm_lines(server: Server) -> list[dict[str, object]]:
    lines = []
    for raw in server.log.read_text(errors="replace").splitlines():
        if raw.startswith("{") and '"warm start' in raw:
            lines.append(json.loads(raw))
    return lines


@pytest.mark.emulators
def test_warm_opens_the_store_and_queue_channels(
    on_emulators: Emulators, monkeypatch: pytest.MonkeyPatch
) -> None:
    warm_up(on_emulators)
    monkeypatch.setenv("RUNRUN_STORE", "firestore")
    monkeypatch.setenv("RUNRUN_QUEUE", "pubsub")
    runtime = Runtime(reload_settings(), run_queue_worker=False)
    try:
        timings = runtime.warm()
        assert set(timings) == {"store", "queue"}
        assert runtime._firestore.peek() is not None and runtime._pubsub.peek() is not None
        # The topic exists now (created on the emulator), so the first publish is one RPC.
        topic = f"projects/{runtime.project}/topics/{get_settings().queue.topic}"
        assert runtime.pubsub.api.get_topic(topic=topic, timeout=30).name == topic
    finally:
        runtime.stop()


def test_warm_never_fails_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", nowhere)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", nowhere)
    runtime = Runtime(reload_settings(), run_queue_worker=False)
    try:
        assert set(runtime.warm(timeout=0.5)) == {"store", "queue"}
    finally:
        runtime.stop()


@pytest.mark.emulators
def test_functions_framework_warms_its_worker_on_its_first_request(
    on_emulators: Emulators, tmp_path: Path
) -> None:
    warm_up(on_emulators)
    port = free_port()
    env = base_env(
        tmp_path / "state",
        PORT=str(port),
        FIRESTORE_EMULATOR_HOST=on_emulators.firestore_host,
        PUBSUB_EMULATOR_HOST=on_emulators.pubsub_host,
        GOOGLE_CLOUD_PROJECT="runrun-test",
        GITHUB_WEBHOOK_SECRET=SECRET,
    )
    argv = [
        str(Path(sys.executable).parent / "functions-framework"),
        "--target=github_webhook",
        "--host=127.0.0.1",
    ]
    server = Server("functions-framework", argv, env, tmp_path).start(cwd=ROOT)
    try:
        # Importing the functions started nothing: the first request starts the runtime.
        assert server.wait_ready().request("GET", "/").status == 405
        for _ in range(600):  # bounded: 60 s
            if warm_lines(server):
                break
            time.sleep(0.1)
        # Later requests reuse the warmed runtime: never a second warm start.
        assert server.request("GET", "/").status == 405
        lines = warm_lines(server)
        assert len(lines) == 1, server.output()
        assert set(lines[0]["seconds"]) == {"store", "queue"}  # type: ignore[arg-type]
    finally:
        server.stop()


def test_finding_16_a_publisher_without_topics_get_still_warms_without_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """roles/pubsub.publisher lacks pubsub.topics.get: GetTopic answers PERMISSION_DENIED
    over a channel that is open all the same. A gRPC stand-in of Pub/Sub's Publisher
    service answers so, as Pub/Sub does for the runtime account."""
    from concurrent.futures import ThreadPoolExecutor

    import grpc
    from google.cloud.pubsub_v1 import PublisherClient
    from google.pubsub_v1 import GetTopicRequest, Topic
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport

    from shared.backends.handoff._pubsub import PubSubPublisher
    from shared.backends.idempotency import MemoryStore

    calls: list[str] = []

    def get_topic(request: GetTopicRequest, context: grpc.ServicerContext) -> Topic:
        calls.append(request.topic)
        context.abort(
            grpc.StatusCode.PERMISSION_DENIED, "User not authorized to perform this action."
        )

    server = grpc.server(ThreadPoolExecutor(max_workers=2))
    handler = grpc.unary_unary_rpc_method_handler(
        get_topic,
        request_deserializer=GetTopicRequest.deserialize,
        response_serializer=Topic.serialize,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("google.pubsub.v1.Publisher", {"GetTopic": handler}),)
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    client = PublisherClient(transport=PublisherGrpcTransport(channel=channel))
    try:
        publisher = PubSubPublisher(lambda: client, lambda: "acme")
        runtime = Runtime(reload_settings(), publisher=publisher, store=MemoryStore())
        with caplog.at_level("INFO", logger="runrun.runtime"):
            timings = runtime.warm()
        assert calls == ["projects/acme/topics/webhook-deliveries"]  # the call was made
        assert "queue" in timings
        assert not [r for r in caplog.records if r.getMessage() == "warm start failed"]
    finally:
        channel.close()
        server.stop(grace=None)


def test_importing_the_functions_starts_no_thread_and_writes_no_file(tmp_path: Path) -> None:
    # What gunicorn's pre-fork master does under functions-framework: import, then fork.
    code = (
        "import threading, sys\n"
        "import main\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert not any(m.startswith('google.cloud.firestore') for m in sys.modules)\n"
    )
    state = tmp_path / "state"
    env = base_env(state, PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert not state.exists()
