"""The Cloud Tasks hand-off end to end on the real emulators: a `python -m runrun serve`
process with RUNRUN_QUEUE=tasks and its store on the Firestore emulator; the Cloud Tasks
emulator (PyPI's gcloud-tasks-emulator) dispatches each task to its /process_delivery.

What the emulator proves: the official client creates the tasks we build, they are
dispatched as HTTP POSTs that process_delivery runs unchanged, and schedule_time holds a
task back. What it does not: OIDC tokens, the queue's retry config and task-name dedupe
(tests/shared/backends/handoff/test_tasks_handoff.py holds those against the client and our code).

200 deliveries each sent twice, in CI as in long mode.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from google.cloud import tasks_v2

from shared.backends._clients import make_tasks_client
from tests.support.emulators import Emulators, free_port
from tests.support.pubsub_util import warm_up
from tests.support.reliability_kit import (
    MAIN,
    github_delivery,
    log_lines,
    report,
    server_env,
    sink_server,
    storm,
    wait_until,
)
from tests.support.runrun_scenarios.processes import Server
from tests.support.tasks_emulator import TasksEmulator

pytestmark = pytest.mark.emulators

DISTINCT = 200  # the full figure: the emulator dispatches 200 in about 20 s
CONNECTIONS = 80
PROCESSORS = ("relay", "store", "deploy-staging")


def _serve(
    tmp_path: Path, emulators: Emulators, tasks: TasksEmulator, relay_url: str, **extra: str
) -> tuple[Server, str]:
    """runrun serve on a port chosen here: the tasks' URL must name it before it starts."""
    suffix = uuid.uuid4().hex[:10]
    queue = f"projects/runrun-test/locations/local/queues/q-{suffix}"
    port = free_port()
    env = server_env(tmp_path, emulators, suffix, relay_url)
    env.update(
        RUNRUN_QUEUE="tasks",
        RUNRUN_TASKS_QUEUE=queue,
        RUNRUN_TASKS_URL=f"http://127.0.0.1:{port}/process_delivery",
        CLOUD_TASKS_EMULATOR_HOST=tasks.host,
        # This test is about counts, not a slow machine: a generous budget for the target.
        RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK="15",
        RUNRUN_DEPLOY_VIA="topic",  # deploy-staging publishes its command, where it is counted
        PORT=str(port),
        **extra,
    )
    argv = [sys.executable, "-m", "runrun", "serve", "--source", str(MAIN), "--host", "127.0.0.1"]
    argv += ["--workers", "2", "--concurrency", "80"]
    return Server("runrun-tasks", argv, env, tmp_path).start(), queue


def _pending(queue: str, host: str) -> int:
    client = make_tasks_client(host)
    return len(client.list_tasks(request=tasks_v2.ListTasksRequest(parent=queue)).tasks)


@pytest.fixture
def emulators_all(on_emulators: Emulators, tasks_emulator: TasksEmulator) -> Emulators:
    warm_up(on_emulators)
    return on_emulators


def test_each_delivery_sent_twice_is_accepted_once_and_each_processor_runs_once(
    emulators_all: Emulators,
    tasks_emulator: TasksEmulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    with sink_server() as sink:
        server, queue = _serve(tmp_path, emulators_all, tasks_emulator, sink.url)
        try:
            server.wait_ready("/_runrun/health")
            deliveries = [github_delivery() for _ in range(DISTINCT)]
            started = time.monotonic()
            first = storm(server.port, "/github_webhook", deliveries, connections=CONNECTIONS)
            again = storm(server.port, "/github_webhook", deliveries, connections=CONNECTIONS)
            sending = time.monotonic() - started
            kinds = Counter(
                "replayed" if a.status == 200 and a.replayed else str(a.status)
                for a in first + again
            )
            assert kinds == {"200": DISTINCT, "replayed": DISTINCT}, kinds
            assert all(not a.replayed for a in first)

            keys = {d.key for d in deliveries}
            assert wait_until(lambda: set(sink.runs) >= keys, timeout=600), (
                f"relayed {len(sink.runs)} of {DISTINCT}"
            )
            assert wait_until(lambda: _pending(queue, tasks_emulator.host) == 0, timeout=120)
            processing = time.monotonic() - started
        finally:
            server.stop()
        ran: Counter[str] = Counter()
        for line in log_lines(server):
            if line.get("message") == "processor ran":
                ran[str(line.get("processor"))] += 1
        assert sink.runs == Counter(dict.fromkeys(keys, 1))  # none lost, none twice
        assert ran == dict.fromkeys(PROCESSORS, DISTINCT), ran
    report(
        request,
        "cloud tasks emulator: each delivery sent twice",
        {
            "deliveries": DISTINCT,
            "accepted": kinds["200"],
            "replayed": kinds["replayed"],
            "runs per processor": dict(ran),
            "send seconds": round(sending, 2),
            "all processed seconds": round(processing, 2),
        },
    )


def test_a_processor_that_asks_to_run_5_s_later_runs_no_sooner_and_once(
    emulators_all: Emulators,
    tasks_emulator: TasksEmulator,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    from datetime import datetime

    from tests.support.tasks_emulator.delayed import DELAY

    with sink_server() as sink:
        server, queue = _serve(
            tmp_path,
            emulators_all,
            tasks_emulator,
            sink.url,
            RUNRUN_PROCESSORS="tests.support.tasks_emulator.delayed:registry",
        )
        try:
            server.wait_ready("/_runrun/health")
            delivery = github_delivery()
            [answer] = storm(server.port, "/github_webhook", [delivery], connections=1)
            assert answer.status == 200
            assert wait_until(lambda: sink.total_runs() >= 1, timeout=120)
            assert wait_until(lambda: _pending(queue, tasks_emulator.host) == 0, timeout=60)
        finally:
            server.stop()
    assert sink.runs == {delivery.key: 1}
    [seen] = sink.headers_seen
    received = datetime.fromisoformat(seen["x-received-at"]).timestamp()
    waited = float(seen["x-ran-at"]) - received
    assert waited >= DELAY  # never sooner (how much later depends on the machine)
    report(request, "cloud tasks emulator: delayed processor", {"ran after seconds": waited})
