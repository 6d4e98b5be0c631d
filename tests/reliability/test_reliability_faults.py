"""Faults, against a real `python -m runrun serve` process and emulators of this module's own
(they are stopped and killed here, so never the session's shared ones):

- the Firestore emulator stopped (SIGSTOP) mid-run, then resumed;
- the Firestore emulator killed mid-run, then restarted on the same port;
- the Pub/Sub emulator stopped (SIGSTOP) mid-run, then resumed;
- the server SIGKILLed between a delivery's claim and its publish;
- a processor that fails twice, then succeeds.

Every request made while the queue is down is answered 503 with Retry-After; while only the
store is down deliveries are still accepted (published without a claim), and processing
waits for the store (503, so Pub/Sub redelivers). Afterwards the provider's retries
(honouring Retry-After, bounded) all get a 2xx, expired leases letting them through; and
every delivery answered 2xx is processed exactly once.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulators import EmulatorProcesses, Emulators, _wait_ready, commands
from tests.support.pubsub_util import warm_up
from tests.support.reliability_kit import (
    Answer,
    Delivery,
    Sink,
    Topics,
    find_secrets,
    github_delivery,
    kill_tree,
    per_delivery,
    report,
    secret_needles,
    server_env,
    signature_values,
    sink_server,
    start_server,
    storm,
)
from tests.support.runrun_scenarios.processes import Server

pytestmark = pytest.mark.emulators

SCENARIO = Path(__file__).resolve().parents[1] / "support" / "reliability_scenario_main.py"
LEASE_SECONDS = 3
MATRIX: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="module")
def own_emulators(
    tmp_path_factory: pytest.TempPathFactory, emulators: Emulators
) -> Iterator[tuple[Emulators, EmulatorProcesses]]:
    # `emulators` first: where this machine has none, that fixture skips loudly.
    processes = EmulatorProcesses(tmp_path_factory.mktemp("own-emulators"))
    running = processes.start()
    yield running, processes
    for process in processes.processes:
        _signal(process, signal.SIGCONT)
    processes.stop()


def _signal(process: subprocess.Popen[bytes], sig: int) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)  # the launcher and its JVM: one process group


@pytest.fixture
def own(
    own_emulators: tuple[Emulators, EmulatorProcesses], monkeypatch: pytest.MonkeyPatch
) -> tuple[Emulators, EmulatorProcesses]:
    running, processes = own_emulators
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", running.firestore_host)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", running.pubsub_host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "runrun-test")
    warm_up(running)
    return running, processes


@dataclass
class Run:
    """One scenario: a server, its topic, its processor sink, and every answer."""

    server: Server
    topics: Topics
    sink: Sink
    during: list[Answer] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)


def retry_until_2xx(port: int, delivery: Delivery, budget: float = 60.0) -> list[Answer]:
    """The provider: resend until a 2xx, waiting what Retry-After says (bounded)."""
    answers: list[Answer] = []
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        (answer,) = storm(port, "/github_webhook", [delivery], connections=1)
        answers.append(answer)
        if 200 <= answer.status < 300:
            return answers
        wait = float(answer.retry_after or 1) if answer.status else 0.5
        time.sleep(min(wait, 5.0))
    return answers


def process_all(run: Run, expected: int) -> tuple[int, Counter[str]]:
    """Pull every message and push it to /process_delivery twice (at-least-once
    delivery); pushes that fail are redelivered, bounded. Messages per delivery id."""
    received = run.topics.drain(at_least=expected, timeout=60)
    pushes = run.topics.envelopes(received)
    for _ in range(2):
        pending = list(pushes)
        for _attempt in range(20):
            answers = storm(run.server.port, "/process_delivery", pending, connections=20)
            failed = {a.key for a in answers if a.status != 200}
            pending = [p for p in pending if p.key in failed]
            if not pending:
                break
            time.sleep(0.5)
        assert not pending, f"{len(pending)} messages never processed"
    return len(received), per_delivery(received)


def check_exactly_once(run: Run, acknowledged: set[str], messages: Counter[str]) -> None:
    assert set(messages) == acknowledged
    runs = dict(run.sink.runs)
    assert set(runs) == acknowledged
    assert set(runs.values()) == {1}


def during_is_2xx(answers: list[Answer]) -> None:
    """The store is down, the queue is not: each delivery is published without a claim."""
    assert answers
    assert [(a.status, a.error) for a in answers if not 200 <= a.status < 300] == []


def during_is_503(answers: list[Answer]) -> None:
    assert answers
    wrong = [(a.status, a.retry_after, a.error) for a in answers if a.status != 503]
    assert wrong == []
    assert all(a.retry_after and a.retry_after.isdigit() for a in answers)


@pytest.fixture
def run_factory(own: tuple[Emulators, EmulatorProcesses], tmp_path: Path) -> Iterator[Any]:
    runs: list[Run] = []
    sinks: list[Any] = []

    def make(source: Path | None = None, fail_first: int = 0, **extra: str) -> Run:
        suffix = uuid.uuid4().hex[:10]
        topics = Topics(suffix)
        context = sink_server(fail_first)
        sink = context.__enter__()
        sinks.append(context)
        env = server_env(
            tmp_path,
            own[0],
            suffix,
            sink.url,
            RUNRUN_DEADLINE_SECONDS="1",
            RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK="1",
            RUNRUN_LEASE_SECONDS=str(LEASE_SECONDS),
            **extra,
        )
        kwargs = {"source": source} if source else {}
        server = start_server(tmp_path / f"server-{len(runs)}", env, **kwargs)
        run = Run(server, topics, sink)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.server.stop(signal.SIGKILL)
        run.topics.close()
    for context in sinks:
        context.__exit__(None, None, None)


def probe() -> Delivery:
    """A push of a message no receiver published: it only needs the store to be claimed."""
    data = base64.b64encode(b'{"probe": true}').decode()
    attributes = {"source": "github_webhook", "delivery_id": f"probe-{uuid.uuid4()}"}
    envelope = {"message": {"data": data, "attributes": attributes, "messageId": "1"}}
    envelope["subscription"] = "projects/runrun-test/subscriptions/probe"
    headers = {"Content-Type": "application/json"}
    return Delivery(attributes["delivery_id"], headers, json.dumps(envelope).encode())


def _send(run: Run, count: int, prefix: str) -> list[Answer]:
    deliveries = [github_delivery(f"{prefix}-{uuid.uuid4()}") for _ in range(count)]
    run.deliveries += deliveries
    answers = storm(run.server.port, "/github_webhook", deliveries, connections=10)
    run.answers += answers
    return answers


def _recover(run: Run) -> set[str]:
    """Retry every delivery that got no 2xx; the set of delivery ids acknowledged."""
    acknowledged = {a.key for a in run.answers if 200 <= a.status < 300}
    for delivery in run.deliveries:
        if delivery.key not in acknowledged:
            answers = retry_until_2xx(run.server.port, delivery)
            run.answers += answers
            assert 200 <= answers[-1].status < 300, answers[-1]
            acknowledged.add(delivery.key)
    return acknowledged


def _record(name: str, run: Run, messages: int, extra: dict[str, Any] | None = None) -> None:
    statuses = Counter(a.status for a in run.answers)
    log = run.server.log.read_text(errors="replace")
    leaked = find_secrets([log], secret_needles(*signature_values(run.deliveries)))
    assert leaked == []
    MATRIX[name] = {
        "answers during the fault": dict(Counter(a.status for a in run.during)),
        "all answers": {str(k): v for k, v in sorted(statuses.items())},
        "deliveries": len(run.deliveries),
        "pubsub messages": messages,
        "processor runs": run.sink.total_runs(),
        "relay attempts": sum(run.sink.attempts.values()),
        "lost": len({d.key for d in run.deliveries} - set(run.sink.runs)),
        "doubled": sum(1 for n in run.sink.runs.values() if n > 1),
        **(extra or {}),
    }


def test_firestore_stopped_mid_run(run_factory: Any, own: Any) -> None:
    run = run_factory()
    firestore = own[1].processes[0]
    _send(run, 10, "before")
    _signal(firestore, signal.SIGSTOP)
    try:
        run.during = _send(run, 5, "during")
        probes = storm(run.server.port, "/process_delivery", [probe()], connections=1)
    finally:
        _signal(firestore, signal.SIGCONT)
    during_is_2xx(run.during)
    during_is_503(probes)  # the processing side waits: Pub/Sub redelivers after Retry-After
    _recover(run)
    _send(run, 10, "after")
    # Right after the resume the emulator works through its backlog: a claim may take its
    # whole share of the 1 s deadline, and a publish then abandoned at the deadline (503)
    # may still land. The provider retries it; more messages than deliveries is allowed.
    acknowledged = _recover(run)
    count, messages = process_all(run, len(acknowledged))
    check_exactly_once(run, acknowledged, messages)
    _record(
        "Firestore stopped (SIGSTOP), resumed",
        run,
        count,
        {"process_delivery during the fault": dict(Counter(a.status for a in probes))},
    )


def test_firestore_killed_and_restarted(run_factory: Any, own: Any, tmp_path: Path) -> None:
    run = run_factory()
    processes: EmulatorProcesses = own[1]
    host = own[0].firestore_host
    _send(run, 10, "before")
    old = processes.processes[0]
    _signal(old, signal.SIGKILL)
    old.wait(30)
    run.during = _send(run, 5, "during")
    during_is_2xx(run.during)
    found = commands()
    assert not isinstance(found, str)
    with open(tmp_path / "firestore-restarted.log", "wb") as log:
        restarted = subprocess.Popen(
            [*found[0], "--host=127.0.0.1", f"--port={host.rsplit(':', 1)[1]}"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    processes.processes[0] = restarted
    _wait_ready(host, restarted, "firestore", timeout=60)
    _recover(run)
    _send(run, 10, "after")
    acknowledged = _recover(run)  # as above: a publish abandoned at the deadline may land
    count, messages = process_all(run, len(acknowledged))
    check_exactly_once(run, acknowledged, messages)
    _record("Firestore killed, restarted (its data lost)", run, count)


def test_pubsub_stopped_mid_run(run_factory: Any, own: Any) -> None:
    run = run_factory()
    pubsub = own[1].processes[1]
    _send(run, 10, "before")
    _signal(pubsub, signal.SIGSTOP)
    try:
        run.during = _send(run, 5, "during")
    finally:
        _signal(pubsub, signal.SIGCONT)
    during_is_503(run.during)
    acknowledged = _recover(run)
    _send(run, 10, "after")
    acknowledged |= {a.key for a in run.answers if a.status == 200}
    # A publish abandoned at the deadline may still land once the emulator resumes, and
    # its retry publishes again: more messages than deliveries is allowed; more runs is not.
    received = run.topics.drain(at_least=len(acknowledged), timeout=60)
    pushes = run.topics.envelopes(received)
    for _ in range(2):
        answers = storm(run.server.port, "/process_delivery", pushes, connections=20)
        assert {a.status for a in answers} <= {200, 409}
    messages = per_delivery(received)
    assert set(messages) == acknowledged
    runs = dict(run.sink.runs)
    assert set(runs) == acknowledged and set(runs.values()) == {1}
    _record(
        "Pub/Sub stopped (SIGSTOP), resumed",
        run,
        len(received),
        {"deliveries with 2 messages": sum(1 for n in messages.values() if n > 1)},
    )


def test_server_killed_between_claim_and_publish(run_factory: Any, tmp_path: Path) -> None:
    mark = tmp_path / "held"
    held = run_factory(source=SCENARIO, SCENARIO_HOLD_MARK=str(mark))
    delivery = github_delivery(f"hold-{uuid.uuid4()}")
    held.deliveries.append(delivery)
    answers: list[Answer] = []
    client = threading.Thread(
        target=lambda: answers.extend(storm(held.server.port, "/github_webhook", [delivery])),
        daemon=True,
    )
    client.start()
    for _ in range(600):  # bounded: until the claim is made and the publish is held
        if mark.exists():
            break
        time.sleep(0.05)
    assert mark.exists(), held.server.output()
    assert held.server.process is not None
    kill_tree(held.server.process.pid)  # as the platform kills a container: every process
    held.server.process.wait(30)
    client.join(30)
    assert answers and answers[0].status == 0  # the provider got no answer: it retries
    held.during = list(answers)

    # The provider's retries reach a fresh instance (same store, same topic).
    fresh = Run(
        start_server(tmp_path / "fresh", held.server.env | {"SCENARIO_HOLD_MARK": ""}),
        held.topics,
        held.sink,
        deliveries=[delivery],
    )
    try:
        retries = retry_until_2xx(fresh.server.port, delivery)
        fresh.answers = [*answers, *retries]
        fresh.during = list(answers)
        assert retries[-1].status == 200 and not retries[-1].replayed
        in_progress = [a for a in retries if a.status == 409]
        assert all(a.retry_after for a in in_progress)
        count, messages = process_all(fresh, 1)
        check_exactly_once(fresh, {delivery.key}, messages)
        _record(
            "server SIGKILLed between claim and publish",
            fresh,
            count,
            {
                "retries answered 409 until the lease expired": len(in_progress),
                "lease seconds": LEASE_SECONDS,
            },
        )
    finally:
        fresh.server.stop()


def test_processor_fails_twice_then_succeeds(
    run_factory: Any, request: pytest.FixtureRequest
) -> None:
    run = run_factory(fail_first=2)
    _send(run, 10, "flaky")
    acknowledged = {a.key for a in run.answers if a.status == 200}
    assert len(acknowledged) == 10
    received = run.topics.drain(at_least=10, timeout=60)
    pushes = run.topics.envelopes(received)
    push_statuses: Counter[int] = Counter()
    for _ in range(4):  # Pub/Sub redelivers whatever was not acknowledged (2xx)
        for answer in storm(run.server.port, "/process_delivery", pushes, connections=10):
            push_statuses[answer.status] += 1
    runs = dict(run.sink.runs)
    assert set(runs) == acknowledged and set(runs.values()) == {1}
    assert set(run.sink.attempts.values()) == {3}
    _record(
        "processor fails twice, then succeeds",
        run,
        len(received),
        {"push answers (4 rounds)": {str(k): v for k, v in sorted(push_statuses.items())}},
    )
    report(request, "2 fault matrix", MATRIX)
