"""Duplicate storm: distinct signed deliveries, each sent several times in shuffled order over
80 concurrent connections to a real `python -m runrun serve` process on the emulators, then
every message pulled from the topic is pushed to /process_delivery twice over 80 connections,
as a push subscription would POST it (Pub/Sub delivers at least once).

Exactly one processor run per delivery; every request is answered 200, 409 (+ Retry-After)
or a replayed 200. One Pub/Sub message per delivery, but where the emulator, overloaded on 2
CPUs, answered a claim too slowly: such a copy is published without a claim (or takes over a
claim whose completion failed), and how often that happened is printed. CI mode: 150
deliveries x 5; long mode (RUNRUN_LONG_TESTS=1): 1,000 x 5.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulators import Emulators
from tests.support.pubsub_util import warm_up
from tests.support.reliability_kit import (
    Topics,
    answer_texts,
    find_secrets,
    github_delivery,
    log_lines,
    per_delivery,
    report,
    scale,
    secret_needles,
    server_env,
    shuffled_copies,
    signature_values,
    sink_server,
    start_server,
    storm,
)

pytestmark = pytest.mark.emulators

DISTINCT = scale(150, 1000)
COPIES = 5
CONNECTIONS = 80


def test_duplicate_storm_publishes_and_processes_each_delivery_once(
    on_emulators: Emulators, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    warm_up(on_emulators)
    suffix = uuid.uuid4().hex[:10]
    topics = Topics(suffix)
    with sink_server() as sink:
        # A generous store/queue budget: this test is about duplicates, not a slow machine.
        env = server_env(tmp_path, on_emulators, suffix, sink.url, RUNRUN_DEADLINE_SECONDS="15")
        server = start_server(tmp_path, env)
        try:
            deliveries = [github_delivery() for _ in range(DISTINCT)]
            sent = shuffled_copies(deliveries, COPIES)
            started = time.monotonic()
            answers = storm(server.port, "/github_webhook", sent, connections=CONNECTIONS)
            storm_seconds = time.monotonic() - started

            kinds: Counter[str] = Counter()
            accepted: Counter[str] = Counter()
            unexpected = []
            for answer in answers:
                if answer.status == 200 and answer.replayed:
                    kinds["200 replayed"] += 1
                elif answer.status == 200:
                    kinds["200 accepted"] += 1
                    accepted[answer.key] += 1
                elif answer.status == 409 and answer.retry_after:
                    kinds["409"] += 1
                else:
                    unexpected.append((answer.status, answer.error, answer.body[:200]))
            assert len(answers) == len(sent)
            assert not unexpected, unexpected[:10]
            # Each delivery was accepted by one of its copies, a second only without a claim.
            assert sorted(accepted) == sorted(d.key for d in deliveries)

            received = topics.drain(at_least=DISTINCT, timeout=scale(60, 300))
            messages = per_delivery(received)
            pushes = topics.envelopes(received)
            first = storm(server.port, "/process_delivery", pushes, connections=CONNECTIONS)
            again = storm(server.port, "/process_delivery", pushes, connections=CONNECTIONS)
            push_statuses = Counter(a.status for a in [*first, *again])
            # Two messages of one delivery pushed at once: one runs, the other is told 409
            # and redelivered, as Pub/Sub would (bounded).
            assert set(push_statuses) <= {200, 409}, push_statuses
            redelivered = [p for p, a in zip(pushes, again, strict=True) if a.status != 200]
            for _ in range(20):
                if not redelivered:
                    break
                time.sleep(0.5)
                answers_again = storm(server.port, "/process_delivery", redelivered)
                redelivered = [
                    p for p, a in zip(redelivered, answers_again, strict=True) if a.status != 200
                ]
            assert redelivered == []
            processing_seconds = time.monotonic() - started
            runs = dict(sink.runs)
            assert messages == accepted, "one message per 2xx that was not a replay"
            skipped = claims_skipped(server)
            assert sum(messages.values()) - DISTINCT <= skipped
            assert sorted(runs) == sorted(d.key for d in deliveries)
            assert set(runs.values()) == {1}
            assert set(sink.attempts.values()) == {1}
        finally:
            status = server.stop()
            topics.close()
    lines = log_lines(server)
    tracebacks = server.log.read_text(errors="replace").count("Traceback")
    leaked = find_secrets(
        [server.log.read_text(errors="replace"), *answer_texts(answers)],
        secret_needles(*signature_values(deliveries)),
    )
    assert tracebacks == 0, server.output()
    assert leaked == []
    assert status == 0
    report(
        request,
        "1 duplicate storm",
        {
            "distinct deliveries": DISTINCT,
            "copies each": COPIES,
            "connections": CONNECTIONS,
            "requests": len(answers),
            "storm seconds": round(storm_seconds, 1),
            "seconds until all processed": round(processing_seconds, 1),
            "answers": dict(kinds),
            "other answers": 0,
            "pubsub messages": sum(messages.values()),
            "published twice (claim skipped or lost)": sum(1 for n in messages.values() if n > 1),
            "claims skipped or lost (log)": skipped,
            "processor runs": sum(runs.values()),
            "relay attempts": sum(sink.attempts.values()),
            "pushes (each message twice)": sum(push_statuses.values()),
            "push answers (both rounds)": dict(push_statuses),
            "lost": DISTINCT - len(runs),
            "doubled": sum(1 for n in runs.values() if n > 1),
            "log lines": len(lines),
            "tracebacks": tracebacks,
            "secrets found": len(leaked),
        },
    )


def claims_skipped(server: Any) -> int:
    """Copies published without a claim, or whose claim's completion failed (their key was
    then taken over by a later copy), from the server's own log lines."""
    return sum(
        1
        for line in log_lines(server)
        if line.get("outcome") == "accepted_unclaimed"
        or line.get("message") == "could not mark delivery complete"
    )
