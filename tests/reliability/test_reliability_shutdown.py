"""Graceful shutdown: SIGTERM in the middle of a duplicate storm against a real
`python -m runrun serve` process on the emulators.

- the process exits within Cloud Run's 10 s (it gets SIGKILL after that);
- every request that reached a target (one log line per request) got its answer, and every
  answer the client got is one of those log lines: nothing was cut off in flight;
- every delivery answered 2xx is on the topic exactly once; after a restart, the provider's
  retries of everything else go through, and every delivery is then on the topic exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.support.emulators import Emulators
from tests.support.pubsub_util import warm_up
from tests.support.reliability_kit import (
    Answer,
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

DISTINCT = scale(200, 1000)
COPIES = 2
CONNECTIONS = 80
EXIT_LIMIT_SECONDS = 10  # Cloud Run sends SIGKILL 10 s after SIGTERM


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_sigterm_during_storm_answers_what_it_accepted_and_loses_nothing(
    on_emulators: Emulators, tmp_path: Path, request: pytest.FixtureRequest, kind: str
) -> None:
    warm_up(on_emulators)
    suffix = uuid.uuid4().hex[:10]
    topics = Topics(suffix)
    deliveries = [github_delivery() for _ in range(DISTINCT)]
    sent = shuffled_copies(deliveries, COPIES)
    with sink_server() as sink:
        env = server_env(tmp_path, on_emulators, suffix, sink.url, RUNRUN_DEADLINE_SECONDS="5")
        server = start_server(tmp_path / "first", env, server=kind)
        assert server.process is not None
        answered = 0
        lock = threading.Lock()
        halfway = threading.Event()

        def count(answer: Answer) -> None:
            nonlocal answered
            with lock:
                answered += answer.status != 0
                if answered >= len(sent) // 3:
                    halfway.set()

        answers: list[Answer] = []
        client = threading.Thread(
            target=lambda: answers.extend(
                storm(
                    server.port, "/github_webhook", sent, connections=CONNECTIONS, on_answer=count
                )
            ),
            daemon=True,
        )
        client.start()
        try:
            assert halfway.wait(120), server.output()
            signalled = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            try:
                exit_status = server.process.wait(timeout=EXIT_LIMIT_SECONDS)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running {EXIT_LIMIT_SECONDS} s after SIGTERM")
            exit_seconds = time.monotonic() - signalled
            client.join(180)
            assert not client.is_alive()
        finally:
            server.stop(signal.SIGKILL)
        assert exit_status == 0, server.output()
        assert len(answers) == len(sent)

        # Each request the targets saw (one log line each) is an answer the client got.
        seen = Counter(
            (line["delivery_id"], line["status"])
            for line in log_lines(server)
            if line.get("target") == "github_webhook" and "status" in line
        )
        got = Counter((a.key, a.status) for a in answers if a.status)
        assert seen == got
        statuses = Counter(a.status for a in answers)
        assert set(statuses) <= {0, 200, 409}, statuses
        unanswered = Counter(
            f"{a.error}{' after sending' if a.sent else ''}" for a in answers if not a.status
        )

        acknowledged = {a.key for a in answers if a.status == 200}
        before = per_delivery(topics.drain(at_least=len(acknowledged), timeout=scale(60, 300)))
        assert set(before) == acknowledged
        assert set(before.values()) == {1}

        # The provider retries whatever got no 2xx, against a fresh instance.
        retried = [d for d in deliveries if d.key not in acknowledged]
        second = start_server(tmp_path / "second", env, server=kind, name="restarted")
        try:
            retry_answers = storm(second.port, "/github_webhook", retried, connections=CONNECTIONS)
        finally:
            second_status = second.stop()
        # A Counter on both sides: when the first instance answered every delivery before it
        # stopped, nothing is retried, and Counter() equals Counter({200: 0}) (a dict does not).
        assert Counter(a.status for a in retry_answers) == Counter({200: len(retried)})
        after = per_delivery(topics.drain(at_least=len(retried), timeout=scale(60, 300)))
        topics.close()
    total = before + after
    assert sorted(total) == sorted(d.key for d in deliveries)
    assert set(total.values()) == {1}
    assert second_status == 0

    logs = server.log.read_text(errors="replace") + second.log.read_text(errors="replace")
    tracebacks = logs.count("Traceback")
    leaked = find_secrets(
        [logs, *answer_texts([*answers, *retry_answers])],
        secret_needles(*signature_values(deliveries)),
    )
    assert tracebacks == 0, logs[-3000:]
    assert leaked == []
    report(
        request,
        f"3 graceful shutdown ({kind})",
        {
            "requests": len(sent),
            "distinct deliveries": DISTINCT,
            "SIGTERM after answers": len(sent) // 3,
            "exit status": exit_status,
            "seconds from SIGTERM to exit": round(exit_seconds, 2),
            "answers": {str(k): v for k, v in sorted(statuses.items())},
            "requests seen by the targets": sum(seen.values()),
            "seen but unanswered": sum((seen - got).values()),
            "unanswered, by client error": dict(unanswered),
            "acknowledged (2xx)": len(acknowledged),
            "acknowledged and on the topic": len(set(before) & acknowledged),
            "retried after restart": len(retried),
            "on the topic in the end": len(total),
            "doubled": sum(1 for n in total.values() if n > 1),
            "tracebacks": tracebacks,
            "secrets found": len(leaked),
        },
    )
