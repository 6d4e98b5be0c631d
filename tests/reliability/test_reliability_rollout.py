"""Rollouts under load: three `python -m runrun serve` instances behind nginx on the real
emulators, each replaced in turn while a storm goes on, as Cloud Run replaces every
instance on each deploy (the old one gets SIGTERM and 10 s, a new one takes its place):
SIGTERM, then a fresh instance on the same port, slot after slot, several rounds.

Two phases, each under its own rollout: the provider's storm (signed GitHub pushes, each
sent 5 times in shuffled order over 80 connections, the whole storm sent again and again
until the rollout is over), then the processing (every message on the topic pushed through
the balancer, again and again until that rollout is over, as Pub/Sub redelivers). Every
answer is a 2xx, or a 503 or 409 with Retry-After (sent again, as the provider and Pub/Sub
would); nothing answered 2xx is lost; every processor runs once per delivery (the relay
counted by its receiver, the deploy command on its topic, the store in the logs); every
replaced instance exits 0 within Cloud Run's 10 s, and leaves no claim behind.

CI mode: 150 deliveries x 5, every instance replaced twice per phase; long mode
(RUNRUN_LONG_TESTS=1): 1,000 x 5, five times.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.balancer import closed_without_answer, upstream_port
from tests.support.emulators import Emulators
from tests.support.reliability_cluster import (
    INSTANCES,
    Cluster,
    cluster,
    kinds,
    logged_runs,
    run_lines,
)
from tests.support.reliability_kit import (
    Answer,
    github_delivery,
    per_delivery,
    report,
    resend_until_2xx,
    scale,
    shuffled_copies,
    storm,
)

pytestmark = pytest.mark.emulators

DISTINCT = scale(150, 1000)
COPIES = 5
CONNECTIONS = 80
ROUNDS = scale(2, 5)  # times each instance is replaced, per phase
RETRY_WINDOW = scale(180, 600)  # bounds the retries (a safety net, not a timing)
T = TypeVar("T")


def _under_rollout(
    group: Cluster, items: list[T], send: Callable[[list[T]], list[Answer]]
) -> tuple[list[Answer], list[float], int]:
    """Send `items` while every instance is replaced ROUNDS times, slot after slot: they
    are cut in one slice per replacement (and one more), and while each replacement goes on
    its slice is sent, again and again, with the slice before it (so that first attempts
    and duplicates meet every instance change); once the rollout is over, everything once
    more. Every answer, the seconds each old instance took to exit, and the passes sent."""
    replacements = ROUNDS * INSTANCES
    size = -(-len(items) // (replacements + 1))
    slices = [items[i * size : (i + 1) * size] for i in range(replacements + 1)]
    done = threading.Event()
    exits: list[float] = []
    failures: list[BaseException] = []

    def roll() -> None:
        try:
            for _ in range(ROUNDS):
                for slot in range(INSTANCES):
                    exits.append(group.replace(slot))
        except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
            failures.append(exc)
        finally:
            done.set()

    first = group.generation
    roller = threading.Thread(target=roll, daemon=True)
    roller.start()
    answers: list[Answer] = []
    passes = 0
    while not done.is_set():
        now = min(group.generation - first, replacements)
        answers += send([*slices[max(0, now - 1)], *slices[now]] if now else slices[0])
        passes += 1
    roller.join(60)
    if failures:
        raise failures[0]
    answers += send(items)
    return answers, exits, passes + 1


def _odd(answers: list[Answer]) -> list[Answer]:
    """Answers that are neither a 2xx nor a 503 / 409 with Retry-After."""
    return [
        a
        for a in answers
        if not (200 <= a.status < 300 or (a.status in (409, 503) and a.retry_after))
    ]


def test_rolling_every_instance_under_a_storm_loses_and_doubles_nothing(
    on_emulators: Emulators, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # A rollout replaces instances faster than nginx's 10 s penalty for a refused
    # connection: a request to a slot being replaced is passed on to the next instance, and
    # so is one sent on a keep-alive connection the stopping instance closed (see
    # `round_robin`; counted in the figures).
    with cluster(tmp_path, on_emulators, mark_down=False, pass_on_posts=True) as group:
        deliveries = [github_delivery(branch="main") for _ in range(DISTINCT)]
        keys = sorted(d.key for d in deliveries)
        received, figures = _receive_phase(group, deliveries)
        figures |= _process_phase(group, received)
        figures |= _check_runs(group, keys)
        figures["requests passed on after a closed connection"] = closed_without_answer(
            group.balancer
        )
        report(
            request,
            "7 rollout (3 instances behind nginx, each replaced in turn under a storm)",
            figures,
        )


def _receive_phase(group: Cluster, deliveries: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """The provider's storm while every instance is replaced: first copies meet every
    instance change, and every copy is sent several times; the messages on the topic."""
    port = group.balancer.port
    keys = sorted(d.key for d in deliveries)
    sent = shuffled_copies(deliveries, COPIES)
    started = time.monotonic()
    answers, exits, passes = _under_rollout(
        group, sent, lambda part: storm(port, "/github_webhook", part, connections=CONNECTIONS)
    )
    retries = resend_until_2xx(
        port, "/github_webhook", sent, answers[-len(sent) :], window=RETRY_WINDOW
    )
    odd = _odd([*answers, *retries])
    assert odd == [], kinds(odd)
    assert sorted({a.key for a in [*answers, *retries] if a.status == 200}) == keys

    received = group.deliveries_topic.drain(at_least=DISTINCT, timeout=scale(60, 300))
    messages = per_delivery(received)
    assert sorted(messages) == keys  # nothing answered 2xx is missing from the topic
    answering = Counter(upstream_port(a.headers) for a in answers)
    return received, {
        "instances": INSTANCES,
        "replacements per phase": ROUNDS * INSTANCES,
        "distinct deliveries": DISTINCT,
        "copies each": COPIES,
        "connections": CONNECTIONS,
        "storm passes during the rollout": passes,
        "requests": len(answers),
        "answers": dict(kinds(answers)),
        "retries (non-2xx sent again)": len(retries),
        "answers per upstream": {str(k): v for k, v in sorted(answering.items(), key=str)},
        "seconds SIGTERM to exit, receive phase": [round(e, 2) for e in exits],
        "receive phase seconds": round(time.monotonic() - started, 1),
        "pubsub messages": sum(messages.values()),
        "deliveries published twice": sum(1 for n in messages.values() if n > 1),
    }


def _process_phase(group: Cluster, received: list[Any]) -> dict[str, Any]:
    """The processing, under a rollout of its own: first pushes meet every instance change,
    and every message is pushed several times (at least once)."""
    port = group.balancer.port
    pushes = group.deliveries_topic.envelopes(received)
    started = time.monotonic()
    answers, exits, passes = _under_rollout(
        group, pushes, lambda part: storm(port, "/process_delivery", part, connections=CONNECTIONS)
    )
    retries = resend_until_2xx(
        port, "/process_delivery", pushes, answers[-len(pushes) :], window=RETRY_WINDOW
    )
    odd = _odd([*answers, *retries])
    assert odd == [], kinds(odd)
    return {
        "push passes during the rollout": passes,
        "pushes": len(answers),
        "push answers": dict(Counter(a.status for a in answers)),
        "push retries": len(retries),
        "seconds SIGTERM to exit, process phase": [round(e, 2) for e in exits],
        "process phase seconds": round(time.monotonic() - started, 1),
    }


def _check_runs(group: Cluster, keys: list[str]) -> dict[str, Any]:
    """One run of each processor per delivery: the relay counted by its receiver, the deploy
    command on its topic, the store in the logs; no claim left behind, no traceback."""
    commands = per_delivery(group.commands_topic.drain(at_least=DISTINCT, timeout=60))
    servers = group.every_server
    runs = {
        "relay": Counter(dict(group.sink.runs)),
        "deploy-staging": commands,
        "store": logged_runs(servers, "store"),
    }
    for name, counted in runs.items():
        assert sorted(counted) == keys, f"{name}: {len(set(keys) - set(counted))} not run"
        doubled = sum(1 for n in counted.values() if n > 1)
        assert doubled == 0, f"{name}: {doubled} deliveries run more than once"
    left = _left_behind(group)
    assert left == {}, left
    tracebacks = sum(s.log.read_text(errors="replace").count("Traceback") for s in servers)
    assert tracebacks == 0
    return {
        "relay runs": sum(runs["relay"].values()),
        "deploy-staging runs": sum(commands.values()),
        "store runs": sum(runs["store"].values()),
        "lost": len(set(keys) - set(runs["relay"])),
        "doubled": sum(1 for n in runs["relay"].values() if n > 1),
        "claims left to their lease": sum(left.values()),
        "tracebacks": tracebacks,
    }


def _left_behind(group: Cluster) -> dict[str, Any]:
    """Per replaced instance, the processor runs it started but never finished (a graceful
    stop finishes every run it started)."""
    left: dict[str, Any] = {}
    for server in group.retired:
        open_runs: Counter[tuple[str, str]] = Counter()
        for line in run_lines(server):
            pair = (str(line.get("delivery_id")), str(line.get("processor")))
            if line.get("message") == "processor started":
                open_runs[pair] += 1
            elif line.get("message") in (
                "processor ran",
                "processor failed",
                "processor backs off",
            ):
                open_runs[pair] -= 1
        unfinished = +open_runs
        if unfinished:
            left[server.name] = sum(unfinished.values())
    return left
