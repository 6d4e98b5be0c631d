"""Several instances: three `python -m runrun serve` processes share the real Firestore and
Pub/Sub emulators behind a real round-robin load balancer (nginx), as Cloud Run scales out;
they coordinate only through the store and the topic. Distinct signed GitHub pushes, each
sent 5 times in shuffled order over 80 connections, so copies of one delivery land on
different instances; every answer that is not a 2xx is sent again (the provider's retry,
bounded) until it is. The messages are then pulled from the topic and each is pushed twice
through the balancer, as a push subscription would (at least once).

Exactly one Pub/Sub message per delivery, and one run of each processor: the relay (counted
by its receiving server), the deploy command (counted on its topic) and the store (counted in
the instances' logs). Then the same with one instance SIGKILLed mid-storm: nothing answered
2xx is lost, nothing is processed twice (a delivery the killed instance published but never
recorded may be published again; the processing side runs it once).

CI mode: 150 deliveries x 5; long mode (RUNRUN_LONG_TESTS=1): 1,000 x 5.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.balancer import Balancer, nginx_or_skip, round_robin, upstream_port
from tests.support.emulators import Emulators
from tests.support.pubsub_util import warm_up
from tests.support.reliability_kit import (
    Answer,
    Sink,
    Topics,
    answer_texts,
    find_secrets,
    github_delivery,
    kill_tree,
    log_lines,
    per_delivery,
    report,
    resend_until_2xx,
    scale,
    secret_needles,
    server_env,
    shuffled_copies,
    signature_values,
    sink_server,
    start_server,
    storm,
)
from tests.support.runrun_scenarios.processes import Server

pytestmark = pytest.mark.emulators

INSTANCES = 3
DISTINCT = scale(150, 1000)
COPIES = 5
CONNECTIONS = 80
RETRY_WINDOW = scale(180, 600)  # bounds the provider's retries (a safety net, not a timing)


@dataclass
class Cluster:
    servers: list[Server]
    balancer: Balancer
    deliveries_topic: Topics
    commands_topic: Topics
    sink: Sink
    killed: list[Server] = field(default_factory=list)


@contextmanager
def cluster(folder: Path, emulators: Emulators, **extra: str) -> Iterator[Cluster]:
    """Three instances on the emulators (each with its own state folder, as containers
    have), one processor sink, and nginx in front of them."""
    nginx_or_skip()  # before anything starts: one loud reason where nginx is missing
    warm_up(emulators)
    suffix = uuid.uuid4().hex[:10]
    deliveries_topic = Topics(suffix)
    commands_topic = Topics(suffix, topic=f"commands-{suffix}")
    servers: list[Server] = []
    with sink_server() as sink:
        try:
            for index in range(INSTANCES):
                home = folder / f"instance-{index}"
                # deploy-staging publishes its command on a topic here, where it is counted.
                env = server_env(
                    home, emulators, suffix, sink.url, RUNRUN_DEPLOY_VIA="topic", **extra
                )
                servers.append(start_server(home, env, name=f"instance-{index}", workers=1))
            with round_robin([s.port for s in servers], folder / "nginx") as balancer:
                yield Cluster(servers, balancer, deliveries_topic, commands_topic, sink)
        finally:
            for server in servers:
                server.stop()
            deliveries_topic.close()
            commands_topic.close()


def _kinds(answers: list[Answer]) -> Counter[str]:
    kinds: Counter[str] = Counter()
    for answer in answers:
        if answer.status == 200:
            kinds["200 replayed" if answer.replayed else "200 accepted"] += 1
        elif answer.status == 0:
            kinds[f"no answer ({answer.error})"] += 1
        else:
            kinds[str(answer.status) + (" + Retry-After" if answer.retry_after else "")] += 1
    return kinds


def _store_runs(servers: list[Server]) -> Counter[str]:
    """Runs of the `store` processor per delivery id, from every instance's log."""
    runs: Counter[str] = Counter()
    for server in servers:
        for line in log_lines(server):
            if line.get("message") == "processor ran" and line.get("processor") == "store":
                runs[str(line.get("delivery_id"))] += 1
    return runs


def run_storm(
    group: Cluster, request: pytest.FixtureRequest, title: str, *, kill_at: int | None
) -> None:
    """The storm through the balancer, the provider's retries, the processing; checks and
    reports. With `kill_at`, the last instance is SIGKILLed once that many answers came."""
    deliveries = [github_delivery(branch="main") for _ in range(DISTINCT)]
    keys = sorted(d.key for d in deliveries)
    sent = shuffled_copies(deliveries, COPIES)
    port = group.balancer.port
    victim = group.servers[-1]
    answered = 0
    lock = threading.Lock()

    def maybe_kill(answer: Answer) -> None:
        nonlocal answered
        with lock:
            answered += 1
            if kill_at is None or answered != kill_at:
                return
        assert victim.process is not None
        kill_tree(victim.process.pid)  # as the platform kills a container: every process
        group.killed.append(victim)

    started = time.monotonic()
    answers = storm(port, "/github_webhook", sent, connections=CONNECTIONS, on_answer=maybe_kill)
    storm_seconds = time.monotonic() - started
    assert len(answers) == len(sent)
    if kill_at is not None:
        assert group.killed, "the instance was never killed"
        assert victim.process is not None and victim.process.wait(30) is not None
    retries = resend_until_2xx(port, "/github_webhook", sent, answers, window=RETRY_WINDOW)
    unresolved = sum(1 for a in answers if not 200 <= a.status < 300) - sum(
        1 for a in retries if 200 <= a.status < 300
    )
    assert unresolved == 0, f"{unresolved} requests never got a 2xx: {_kinds(retries)}"

    # Copies of one delivery reached different instances (round robin), and every instance
    # answered some.
    instances: dict[str, set[int]] = {}
    for answer in [*answers, *retries]:
        upstream = upstream_port(answer.headers)
        if upstream is not None:
            instances.setdefault(answer.key, set()).add(upstream)
    spread = sum(1 for ports in instances.values() if len(ports) > 1)
    answering = Counter(upstream_port(a.headers) for a in answers)
    assert {s.port for s in group.servers} <= set(answering), answering
    assert spread > DISTINCT // 2, spread

    accepted = Counter(a.key for a in [*answers, *retries] if a.status == 200 and not a.replayed)
    if kill_at is None:
        # No fault: every request answered 200, 409 + Retry-After or a replayed 200, and
        # each delivery accepted by exactly one of its copies, whichever instance it reached.
        odd = [a for a in answers if a.status != 200 and not (a.status == 409 and a.retry_after)]
        assert odd == [], _kinds(odd)
        assert sorted(accepted) == keys and set(accepted.values()) == {1}

    received = group.deliveries_topic.drain(at_least=DISTINCT, timeout=scale(60, 300))
    messages = per_delivery(received)
    assert sorted(messages) == keys  # nothing answered 2xx is missing from the topic
    if kill_at is None:
        assert set(messages.values()) == {1}

    pushes = group.deliveries_topic.envelopes(received)
    push_answers: list[Answer] = []
    for _ in range(2):  # Pub/Sub delivers at least once: every message pushed twice
        first = storm(port, "/process_delivery", pushes, connections=CONNECTIONS)
        push_answers += first
        push_answers += resend_until_2xx(
            port, "/process_delivery", pushes, first, window=RETRY_WINDOW
        )
    processing_seconds = time.monotonic() - started
    if kill_at is None:
        assert Counter(a.status for a in push_answers) == {200: 2 * len(pushes)}

    commands = per_delivery(group.commands_topic.drain(at_least=DISTINCT, timeout=60))
    relay_runs = dict(group.sink.runs)
    store_runs = _store_runs(group.servers)
    for name, runs in (("relay", relay_runs), ("deploy-staging", commands), ("store", store_runs)):
        assert sorted(runs) == keys, f"{name}: {len(set(keys) - set(runs))} deliveries not run"
        doubled = sum(1 for n in runs.values() if n > 1)
        assert doubled == 0, f"{name}: {doubled} deliveries run more than once"

    texts = [s.log.read_text(errors="replace") for s in group.servers]
    survivors = [s for s in group.servers if s not in group.killed]
    tracebacks = sum(s.log.read_text(errors="replace").count("Traceback") for s in survivors)
    leaked = find_secrets(
        [*texts, *answer_texts(answers), *answer_texts(retries)],
        secret_needles(*signature_values(deliveries)),
    )
    assert tracebacks == 0, [s.output() for s in survivors]
    assert leaked == []
    figures: dict[str, Any] = {
        "instances": INSTANCES,
        "distinct deliveries": DISTINCT,
        "copies each": COPIES,
        "connections": CONNECTIONS,
        "requests": len(answers),
        "answers": dict(_kinds(answers)),
        "retries (non-2xx sent again)": len(retries),
        "retry answers": dict(_kinds(retries)),
        "answers per instance": {str(k): v for k, v in sorted(answering.items(), key=str)},
        "deliveries whose copies reached 2+ instances": spread,
        "storm seconds": round(storm_seconds, 1),
        "seconds until all processed": round(processing_seconds, 1),
        "pubsub messages": sum(messages.values()),
        "deliveries published twice": sum(1 for n in messages.values() if n > 1),
        "push answers": dict(Counter(a.status for a in push_answers)),
        "relay runs": sum(relay_runs.values()),
        "deploy-staging runs": sum(commands.values()),
        "store runs": sum(store_runs.values()),
        "lost": len(set(keys) - set(relay_runs)),
        "doubled": sum(1 for n in relay_runs.values() if n > 1),
        "tracebacks": tracebacks,
        "secrets found": len(leaked),
    }
    if kill_at is not None:
        figures["killed after answers"] = kill_at
    report(request, title, figures)


def test_three_instances_behind_a_balancer_publish_and_process_each_delivery_once(
    on_emulators: Emulators, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with cluster(tmp_path, on_emulators) as group:
        run_storm(group, request, "6 several instances (3 behind nginx)", kill_at=None)


def test_an_instance_killed_mid_storm_loses_and_doubles_nothing(
    on_emulators: Emulators, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # The killed instance leaves claims behind that it made but never completed: a receiving
    # claim lasts only the request's deadline (GitHub's 8 s), so the retries of those
    # deliveries are let through soon after, with no setting shortened for the test.
    with cluster(tmp_path, on_emulators) as group:
        run_storm(
            group,
            request,
            "6 several instances (3 behind nginx, one SIGKILLed mid-storm)",
            kill_at=DISTINCT * COPIES // 3,
        )
