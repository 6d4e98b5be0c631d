"""Several instances: three `python -m runrun serve` processes share the real Firestore and
Pub/Sub emulators behind a real round-robin load balancer (nginx), as Cloud Run scales out;
they coordinate only through the store and the topic. Distinct signed GitHub pushes, each
sent 5 times in shuffled order over 80 connections, so copies of one delivery land on
different instances; every answer that is not a 2xx is sent again (the provider's retry,
bounded) until it is. The messages are then pulled from the topic and each is pushed twice
through the balancer, as a push subscription would (at least once).

Exactly one Pub/Sub message per delivery, and one run of each processor: the relay (counted
by its receiving server), the deploy command (counted on its topic) and the store (counted in
the instances' logs).

Then crashes: one instance SIGKILLed mid-storm (and replaced, as the platform does), then
another SIGKILLed while it runs processors (the relay's receiver holds each run a little, so
that runs are cut short). Nothing answered 2xx is lost; no two runs of one processor on one
delivery overlap (a run repeated within its lease: must be 0); a run repeated after a
takeover is one the kill cut short, named in the killed instance's log (its `processor
started` line, written before the run had any effect, and no `processor ran` after it), and
every run cut short is taken over by another instance within 15 s of the kill.

CI mode: 150 deliveries x 5; long mode (RUNRUN_LONG_TESTS=1): 1,000 x 5.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.balancer import upstream_port
from tests.support.emulators import Emulators
from tests.support.reliability_cluster import (
    Cluster,
    cluster,
    firestore_documents,
    kinds,
    logged_runs,
)
from tests.support.reliability_kit import (
    Answer,
    answer_texts,
    find_secrets,
    github_delivery,
    per_delivery,
    report,
    resend_until_2xx,
    scale,
    secret_needles,
    shuffled_copies,
    signature_values,
    storm,
)
from tests.support.reliability_takeovers import account_for_the_kill

pytestmark = pytest.mark.emulators

DISTINCT = scale(150, 1000)
COPIES = 5
CONNECTIONS = 80
RETRY_WINDOW = scale(180, 600)  # bounds the provider's retries (a safety net, not a timing)
LEASE_SECONDS = 10  # RUNRUN_LEASE_SECONDS, set explicitly (it is also the default)
RELAY_HOLD_SECONDS = 0.2  # each relay run held by its receiver: runs are in flight at a kill


def _send_killing(
    group: Cluster, path: str, sent: list[Any], kill_slot: int | None
) -> tuple[list[Answer], float | None]:
    """A storm through the balancer; with `kill_slot`, that instance is SIGKILLed once a
    third of the answers came. The answers, and the kill's wall-clock time."""
    answered = 0
    killed_at: list[float] = []
    lock = threading.Lock()

    def maybe_kill(answer: Answer) -> None:
        nonlocal answered
        with lock:
            answered += 1
            if kill_slot is None or answered != len(sent) // 3:
                return
        killed_at.append(group.kill(kill_slot))

    port = group.balancer.port
    answers = storm(port, path, sent, connections=CONNECTIONS, on_answer=maybe_kill)
    assert len(answers) == len(sent)
    if kill_slot is not None:
        assert killed_at, "the instance was never killed"
    return answers, killed_at[0] if killed_at else None


def run_storm(group: Cluster, request: pytest.FixtureRequest, title: str, *, kills: bool) -> None:
    """The storm through the balancer, the provider's retries, the processing; checks and
    reports. With `kills`, an instance is SIGKILLed mid-storm (then replaced), and another
    while it runs processors."""
    deliveries = [github_delivery(branch="main") for _ in range(DISTINCT)]
    keys = sorted(d.key for d in deliveries)
    started = time.monotonic()
    answers, retries, figures = _receive(group, deliveries, kills)
    received = group.deliveries_topic.drain(at_least=DISTINCT, timeout=scale(60, 300))
    messages = per_delivery(received)
    assert sorted(messages) == keys  # nothing answered 2xx is missing from the topic
    if not kills:
        assert set(messages.values()) == {1}
    figures["pubsub messages"] = sum(messages.values())
    figures["deliveries published twice"] = sum(1 for n in messages.values() if n > 1)
    figures |= _process(group, received, keys, kills)
    figures["seconds until all processed"] = round(time.monotonic() - started, 1)

    survivors = [s for s in group.every_server if s not in group.killed]
    tracebacks = sum(s.log.read_text(errors="replace").count("Traceback") for s in survivors)
    leaked = find_secrets(
        [
            *[s.log.read_text(errors="replace") for s in group.every_server],
            *answer_texts(answers),
            *answer_texts(retries),
        ],
        secret_needles(*signature_values(deliveries)),
    )
    assert tracebacks == 0, [s.output() for s in survivors]
    assert leaked == []
    figures |= {"tracebacks": tracebacks, "secrets found": len(leaked)}
    report(request, title, figures)


def _receive(
    group: Cluster, deliveries: list[Any], kills: bool
) -> tuple[list[Answer], list[Answer], dict[str, Any]]:
    """The provider's storm and its retries; with `kills`, an instance SIGKILLed a third of
    the way through, then replaced. The answers, the retries' answers, and the figures."""
    keys = sorted(d.key for d in deliveries)
    sent = shuffled_copies(deliveries, COPIES)
    started = time.monotonic()
    answers, _ = _send_killing(group, "/github_webhook", sent, 2 if kills else None)
    storm_seconds = time.monotonic() - started
    port = group.balancer.port
    retries = resend_until_2xx(port, "/github_webhook", sent, answers, window=RETRY_WINDOW)
    unresolved = sum(1 for a in answers if not 200 <= a.status < 300) - sum(
        1 for a in retries if 200 <= a.status < 300
    )
    assert unresolved == 0, f"{unresolved} requests never got a 2xx: {kinds(retries)}"

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
    if not kills:
        # No fault: every request answered 200, 409 + Retry-After or a replayed 200, and
        # each delivery accepted by exactly one of its copies, whichever instance it reached.
        odd = [a for a in answers if a.status != 200 and not (a.status == 409 and a.retry_after)]
        assert odd == [], kinds(odd)
        assert sorted(accepted) == keys and set(accepted.values()) == {1}
    else:
        group.respawn(2)  # the platform replaces the crashed instance
    return (
        answers,
        retries,
        {
            "instances": len(group.servers),
            "distinct deliveries": DISTINCT,
            "copies each": COPIES,
            "connections": CONNECTIONS,
            "requests": len(answers),
            "answers": dict(kinds(answers)),
            "retries (non-2xx sent again)": len(retries),
            "retry answers": dict(kinds(retries)),
            "answers per instance": {str(k): v for k, v in sorted(answering.items(), key=str)},
            "deliveries whose copies reached 2+ instances": spread,
            "storm seconds": round(storm_seconds, 1),
        },
    )


def _process(group: Cluster, received: list[Any], keys: list[str], kills: bool) -> dict[str, Any]:
    """Every message pushed through the balancer, then once more (at least once); with
    `kills`, an instance SIGKILLed while it runs processors. Each processor's runs checked
    (one per delivery, or repeats accounted for the kill); the figures."""
    port = group.balancer.port
    pushes = group.deliveries_topic.envelopes(received)
    push_answers, killed_at = _send_killing(
        group, "/process_delivery", pushes, 0 if kills else None
    )
    push_answers += resend_until_2xx(
        port, "/process_delivery", pushes, push_answers, window=RETRY_WINDOW
    )
    # Pub/Sub delivers at least once: every message pushed once more.
    again = storm(port, "/process_delivery", pushes, connections=CONNECTIONS)
    push_answers += again
    push_answers += resend_until_2xx(port, "/process_delivery", pushes, again, window=RETRY_WINDOW)
    if not kills:
        assert Counter(a.status for a in push_answers) == {200: 2 * len(pushes)}

    received_commands = group.commands_topic.drain(at_least=DISTINCT, timeout=60)
    commands = per_delivery(received_commands)
    relay_runs = dict(group.sink.runs)
    # The store's receiver is the collection itself: one document per delivery id.
    stored = firestore_documents(group, "RUNRUN_EVENTS_COLLECTION")
    store_runs = logged_runs(group.every_server, "store")
    for name, runs in (("relay", relay_runs), ("deploy-staging", commands), ("store", stored)):
        assert sorted(runs) == keys, f"{name}: {len(set(keys) - set(runs))} deliveries not run"
    figures: dict[str, Any] = {}
    if kills:
        assert killed_at is not None
        figures = account_for_the_kill(
            group, killed_at, received_commands, store_runs, LEASE_SECONDS
        )
    else:
        for name, runs in (("relay", relay_runs), ("deploy-staging", commands)):
            doubled = sum(1 for n in runs.values() if n > 1)
            assert doubled == 0, f"{name}: {doubled} deliveries run more than once"
        assert set(store_runs.values()) == {1}, "the store ran twice (its `processor ran` lines)"
    return {
        "push answers": dict(Counter(a.status for a in push_answers)),
        "relay runs": sum(relay_runs.values()),
        "deploy-staging runs": sum(commands.values()),
        "store documents": len(stored),
        "store runs (processor ran lines)": sum(store_runs.values()),
        "lost": len(set(keys) - set(relay_runs)),
        **figures,
    }


def test_three_instances_behind_a_balancer_publish_and_process_each_delivery_once(
    on_emulators: Emulators, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    with cluster(tmp_path, on_emulators, RUNRUN_LEASE_SECONDS=str(LEASE_SECONDS)) as group:
        run_storm(group, request, "6 several instances (3 behind nginx)", kills=False)


def test_instances_killed_mid_storm_and_mid_run_lose_nothing_and_never_run_twice_at_once(
    on_emulators: Emulators, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # The killed instances leave claims behind that they made but never completed: a
    # receiving claim lasts only the request's deadline (GitHub's 8 s), a processor's claim
    # its short lease (10 s), which its run renewed while it lived; so the retries are let
    # through soon after, with no setting shortened for the test.
    with cluster(
        tmp_path,
        on_emulators,
        hold_seconds=RELAY_HOLD_SECONDS,
        RUNRUN_LEASE_SECONDS=str(LEASE_SECONDS),
    ) as group:
        run_storm(
            group,
            request,
            "6 several instances (3 behind nginx, one SIGKILLed mid-storm, one mid-run)",
            kills=True,
        )
