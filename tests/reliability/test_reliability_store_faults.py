"""The store is not where a delivery becomes durable, the queue is: figures against a real
`python -m runrun serve` process and emulators of this module's own.

- Firestore answering slowly (a delaying TCP proxy holds its replies back past the
  deadline): every delivery is answered 2xx; once the spike ends every retry is 2xx, none
  409; each delivery is processed exactly once (how often one was published twice because
  its claim was skipped is printed).
- Firestore killed: GitHub deliveries sent once are all answered 2xx (GitHub never retries);
  processing waits for the store; once it is back each runs exactly once. Again with every
  delivery sent twice while it is down.
- Pub/Sub killed: 503 + Retry-After, and every delivery ever answered 2xx is on the topic.
- A cold instance: the first 80 concurrent deliveries of a fresh `runrun serve` are 2xx.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.test_reliability_faults import (
    Run,
    _signal,
    check_exactly_once,
    own,  # noqa: F401 - a fixture of this module too
    own_emulators,  # noqa: F401 - a fixture of this module too
    probe,
    process_all,
    retry_until_2xx,
)
from tests.support.delay_proxy import DelayProxy, delay_proxy
from tests.support.emulators import EmulatorProcesses, Emulators, _wait_ready, commands
from tests.support.reliability_kit import (
    Answer,
    Topics,
    github_delivery,
    log_lines,
    per_delivery,
    report,
    scale,
    server_env,
    shuffled_copies,
    sink_server,
    start_server,
    storm,
)

pytestmark = pytest.mark.emulators

DEADLINE = "2"  # github_webhook's deadline here: its lease, and half of it for the claim
SPIKE = 3.0  # replies held back this long: past the claim's share and the whole deadline
COUNT = scale(20, 100)
FIGURES: dict[str, Any] = {}


@pytest.fixture
def make_run(own: tuple[Emulators, EmulatorProcesses], tmp_path: Path) -> Iterator[Any]:  # noqa: F811
    runs: list[Run] = []
    contexts: list[Any] = []

    def make(firestore_host: str | None = None) -> Run:
        suffix = uuid.uuid4().hex[:10]
        topics = Topics(suffix)
        context = sink_server()
        sink = context.__enter__()
        contexts.append(context)
        emulators = own[0]
        if firestore_host is not None:
            emulators = replace(emulators, firestore_host=firestore_host)
        env = server_env(
            tmp_path,
            emulators,
            suffix,
            sink.url,
            RUNRUN_DEADLINE_SECONDS="1",
            RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK=DEADLINE,
            RUNRUN_LEASE_SECONDS="3",
        )
        server = start_server(tmp_path / f"server-{len(runs)}", env)
        run = Run(server, topics, sink)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.server.stop(signal.SIGKILL)
        run.topics.close()
    for context in contexts:
        context.__exit__(None, None, None)


def restart(processes: EmulatorProcesses, index: int, host: str, log: Path) -> None:
    """Start emulator `index` (0 Firestore, 1 Pub/Sub) again on its port: empty."""
    found = commands()
    assert not isinstance(found, str)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*found[index], "--host=127.0.0.1", f"--port={host.rsplit(':', 1)[1]}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    processes.processes[index] = process
    _wait_ready(host, process, "firestore" if index == 0 else "pubsub", timeout=90)


def kill(processes: EmulatorProcesses, index: int) -> None:
    process = processes.processes[index]
    _signal(process, signal.SIGKILL)
    process.wait(30)


def outcomes(run: Run) -> dict[str, int]:
    """The receiving targets' outcomes, from the server's own log lines."""
    found = Counter(
        str(line.get("outcome"))
        for line in log_lines(run.server)
        if line.get("target") == "github_webhook" and "outcome" in line
    )
    return dict(sorted(found.items()))


def statuses(answers: list[Answer]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(Counter(a.status for a in answers).items())}


def no_409_after_a_2xx(answers: list[Answer]) -> int:
    """How many answers were 409 for a delivery already answered 2xx (in sending order)."""
    answered: set[str] = set()
    late = 0
    for answer in answers:
        if answer.status == 409 and answer.key in answered:
            late += 1
        if 200 <= answer.status < 300:
            answered.add(answer.key)
    return late


def test_firestore_answering_slowly(
    make_run: Any,
    own: Any,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    with delay_proxy(own[0].firestore_host) as proxy:
        run = make_run(firestore_host=proxy.address)
        run.deliveries = [github_delivery(f"slow-{uuid.uuid4()}") for _ in range(COUNT)]
        run.answers += storm(run.server.port, "/github_webhook", run.deliveries[:3])  # warm
        proxy.delay = SPIKE
        run.during = storm(run.server.port, "/github_webhook", run.deliveries, connections=20)
        run.answers += run.during
        proxy.delay = 0.0
        cleared = time.monotonic()
        retries = _retry_each(run, proxy)
        last_2xx = max(t for t, a in retries if 200 <= a.status < 300) - cleared
        run.answers += [a for _, a in retries]
        assert [a for a in run.during if not 200 <= a.status < 300] == []
        answered = {a.key for _, a in retries if 200 <= a.status < 300}
        assert answered == {d.key for d in run.deliveries}
        assert no_409_after_a_2xx(run.answers) == 0
        acknowledged = {d.key for d in run.deliveries}
        count, messages = process_all(run, len(acknowledged))
        check_exactly_once(run, acknowledged, messages)
    FIGURES["Firestore answering slowly"] = {
        "deliveries": COUNT,
        "replies held back (s)": SPIKE,
        "github deadline (s)": float(DEADLINE),
        "answers during the spike": statuses(run.during),
        "outcomes": outcomes(run),
        "retries after the spike": statuses([a for _, a in retries]),
        "seconds from the end of the spike to the last retry's 2xx": round(last_2xx, 2),
        "409 after a 2xx": no_409_after_a_2xx(run.answers),
        "pubsub messages": count,
        "published twice (claim skipped)": sum(1 for n in messages.values() if n > 1),
        "processor runs": run.sink.total_runs(),
        "doubled runs": sum(1 for n in run.sink.runs.values() if n > 1),
        "reply chunks held back": proxy.held,
    }
    report(request, "Firestore answering slowly", FIGURES["Firestore answering slowly"])


def _retry_each(run: Run, proxy: DelayProxy) -> list[tuple[float, Answer]]:
    """The provider's retry of every delivery, right after the spike: (when, answer)."""
    timed: list[tuple[float, Answer]] = []

    def note(answer: Answer) -> None:
        timed.append((time.monotonic(), answer))

    storm(run.server.port, "/github_webhook", run.deliveries, connections=20, on_answer=note)
    for delivery in run.deliveries:  # any that was not 2xx: honour Retry-After (bounded)
        if not any(a.key == delivery.key and 200 <= a.status < 300 for _, a in timed):
            for answer in retry_until_2xx(run.server.port, delivery, budget=30):
                note(answer)
    return timed


def test_firestore_killed(
    make_run: Any,
    own: Any,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    run = make_run()
    processes: EmulatorProcesses = own[1]
    host = own[0].firestore_host
    figures: dict[str, Any] = {}
    for copies in (1, 2):
        deliveries = [github_delivery(f"killed{copies}-{uuid.uuid4()}") for _ in range(COUNT)]
        kill(processes, 0)
        answers = storm(run.server.port, "/github_webhook", shuffled_copies(deliveries, copies))
        probes = storm(run.server.port, "/process_delivery", [probe()], connections=1)
        restart(processes, 0, host, tmp_path / f"firestore-{copies}.log")
        assert [a for a in answers if not 200 <= a.status < 300] == []
        assert [p.status for p in probes] == [503], "processing waits for the store"
        runs_before = run.sink.total_runs()
        run.deliveries = deliveries
        acknowledged = {d.key for d in deliveries}
        count, messages = process_all(run, len(acknowledged))
        assert set(messages) == acknowledged
        ran = {k: n for k, n in run.sink.runs.items() if k in acknowledged}
        assert set(ran) == acknowledged and set(ran.values()) == {1}
        figures[f"each sent {copies}x"] = {
            "answers while Firestore is down": statuses(answers),
            "process_delivery while it is down": statuses(probes),
            "pubsub messages": count,
            "processor runs": run.sink.total_runs() - runs_before,
            "doubled runs": sum(1 for n in ran.values() if n > 1),
        }
    figures["outcomes"] = outcomes(run)
    report(request, f"Firestore killed: {COUNT} GitHub deliveries", figures)


def test_pubsub_killed(
    make_run: Any,
    own: Any,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    run = make_run()
    processes: EmulatorProcesses = own[1]
    before = [github_delivery(f"before-{uuid.uuid4()}") for _ in range(5)]
    accepted = storm(run.server.port, "/github_webhook", before)
    assert {a.status for a in accepted} == {200}
    on_topic = per_delivery(run.topics.drain(at_least=len(before), timeout=60))
    kill(processes, 1)
    during = [github_delivery(f"down-{uuid.uuid4()}") for _ in range(COUNT)]
    refused = storm(run.server.port, "/github_webhook", during)
    restart(processes, 1, own[0].pubsub_host, tmp_path / "pubsub.log")
    # A new emulator is empty: the topic and the counting subscription are made again,
    # as the deploy plan would.
    run.topics.close()
    run.topics = Topics(run.topics.topic.rsplit("deliveries-", 1)[1])
    assert all(a.status == 503 and (a.retry_after or "").isdigit() for a in refused), statuses(
        refused
    )
    retried = [retry_until_2xx(run.server.port, d, budget=60)[-1] for d in during]
    assert {a.status for a in retried} == {200}
    on_topic += per_delivery(run.topics.drain(at_least=len(during), timeout=60))
    answered_2xx = {a.key for a in [*accepted, *refused, *retried] if 200 <= a.status < 300}
    assert answered_2xx - set(on_topic) == set(), "a 2xx that is not on the topic"
    figures = {
        "answers while Pub/Sub is down": statuses(refused),
        "Retry-After": sorted({str(a.retry_after) for a in refused}),
        "answered 2xx": len(answered_2xx),
        "answered 2xx but not on the topic": len(answered_2xx - set(on_topic)),
    }
    report(request, "Pub/Sub killed", figures)


def test_cold_instance_first_deliveries(
    own: Any,  # noqa: F811
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    firsts: list[float] = []
    medians: list[float] = []
    answers: list[Answer] = []
    for index in range(scale(1, 3)):
        suffix = uuid.uuid4().hex[:10]
        topics = Topics(suffix)
        with sink_server() as sink:
            env = server_env(tmp_path, own[0], suffix, sink.url)
            server = start_server(tmp_path / f"cold-{index}", env)
            try:
                deliveries = [github_delivery(f"cold-{uuid.uuid4()}") for _ in range(80)]
                started = time.monotonic()
                times: list[float] = []
                batch = storm(
                    server.port,
                    "/github_webhook",
                    deliveries,
                    connections=80,
                    on_answer=lambda _, t=times, s=started: t.append(time.monotonic() - s),
                )
                answers += batch
                firsts.append(min(times))
                medians.append(statistics.median(times))
            finally:
                server.stop(signal.SIGKILL)
                topics.close()
        assert statuses(batch) == {"200": 80}, statuses(batch)
    FIGURES["cold instance: 80 concurrent first deliveries"] = {
        "fresh servers": len(firsts),
        "answers": statuses(answers),
        "first answer (s)": [round(f, 3) for f in firsts],
        "median answer of the 80 (s)": [round(m, 3) for m in medians],
    }
    report(request, "cold instance", FIGURES["cold instance: 80 concurrent first deliveries"])
