"""Shared by the reliability tests: a real `python -m runrun serve` process on the emulators,
a counting processor sink, a concurrent storm client, Pub/Sub plumbing, a secret scanner and
the figures report. Holds no tests itself.

CI mode keeps every count small; `RUNRUN_LONG_TESTS=1` raises them to the full figures
(read here at import time, before the autouse fixture clears `RUNRUN_*` variables).
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulators import Emulators
from tests.support.pubsub_util import PROJECT, github_headers, push_envelope
from tests.support.runrun_scenarios.processes import Server, base_env, runrun

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "main.py"
LONG = os.environ.get("RUNRUN_LONG_TESTS", "").strip() not in ("", "0")

# One secret per provider; every value is also a needle for the secret scan.
GITHUB_SECRET = "rel-github-secret-5d1c0a"
SECRETS = {
    "WEBHOOK_SECRET": "rel-generic-secret-77ab",
    "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
    "STRIPE_WEBHOOK_SECRET": "whsec_relstripesecret9e",
    "SLACK_SIGNING_SECRET": "rel-slack-secret-31f0",
    "DIALOGFLOW_WEBHOOK_SECRET": "rel-dialogflow-secret-4c2d",
}


def scale(ci: int, long: int) -> int:
    """`ci` in CI mode, `long` with RUNRUN_LONG_TESTS=1."""
    return long if LONG else ci


# --- figures -------------------------------------------------------------------------------


def report(request: pytest.FixtureRequest, title: str, figures: dict[str, Any]) -> None:
    """Print the figures of one test on the terminal and append them to the report file."""
    mode = "long" if LONG else "ci"
    line = f"[reliability {mode}] {title}: " + json.dumps(figures, sort_keys=True, default=str)
    base = request.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    with (Path(base) / "reliability-report.txt").open("a") as out:
        out.write(line + "\n")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_line(line)
    print(line)


# --- the processor sink --------------------------------------------------------------------


@dataclass
class Sink:
    """A real HTTP server standing for RUNRUN_RELAY_URL: every relay POST is a processor run.

    The first `fail_first` POSTs of each Idempotency-Key are answered 500 (a processor that
    fails, then succeeds); `runs` counts the POSTs answered 200, per key.
    """

    fail_first: int = 0
    hold_seconds: float = 0.0  # how long each POST is held before its answer (a slow receiver)
    attempts: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    # (Idempotency-Key, arrival, answer) per run answered 200, wall clock (time.time()).
    timeline: list[tuple[str, float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def total_runs(self) -> int:
        with self.lock:
            return sum(self.runs.values())


class _Sink(ThreadingHTTPServer):
    # http.server's listen backlog is 5: 80 relays arriving at once would find connections
    # reset, which is the sink failing, not the server under test.
    request_queue_size = 256


@contextmanager
def sink_server(fail_first: int = 0, hold_seconds: float = 0.0) -> Iterator[Sink]:
    sink = Sink(fail_first=fail_first, hold_seconds=hold_seconds)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            arrived = time.time()
            key = self.headers.get("Idempotency-Key", "")
            with sink.lock:
                sink.attempts[key] += 1
                failing = sink.attempts[key] <= sink.fail_first
                if not failing:
                    sink.runs[key] += 1
                sink.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
            if sink.hold_seconds:
                time.sleep(sink.hold_seconds)  # a receiver that takes its time: runs overlap
            if not failing:
                with sink.lock:
                    sink.timeline.append((key, arrived, time.time()))
            self.send_response(500 if failing else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Sink(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sink.url = f"http://127.0.0.1:{server.server_address[1]}/run"
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# --- the server ----------------------------------------------------------------------------


def server_env(
    folder: Path, emulators: Emulators, suffix: str, relay_url: str, **extra: str
) -> dict[str, str]:
    """A complete environment for one runrun process on the emulators."""
    return base_env(
        folder / "state",
        FIRESTORE_EMULATOR_HOST=emulators.firestore_host,
        PUBSUB_EMULATOR_HOST=emulators.pubsub_host,
        GOOGLE_CLOUD_PROJECT=PROJECT,
        RUNRUN_STORE="firestore",
        RUNRUN_QUEUE="pubsub",
        RUNRUN_IDEMPOTENCY_COLLECTION=f"keys-{suffix}",
        RUNRUN_EVENTS_COLLECTION=f"events-{suffix}",
        RUNRUN_TOPIC=topic_name(suffix),
        RUNRUN_COMMAND_TOPIC=f"commands-{suffix}",
        RUNRUN_RELAY_URL=relay_url,
        **SECRETS,
        **extra,
    )


def topic_name(suffix: str) -> str:
    return f"deliveries-{suffix}"


def start_server(
    folder: Path,
    env: dict[str, str],
    *,
    name: str = "runrun",
    source: Path = MAIN,
    workers: int = 2,
    server: str = "granian",
) -> Server:
    folder.mkdir(parents=True, exist_ok=True)
    process = runrun(
        name,
        source,
        env,
        folder,
        "--server",
        server,
        "--workers",
        str(workers),
        "--concurrency",
        "80",
    )
    try:
        return process.wait_ready("/_runrun/health")
    except BaseException:
        process.stop()
        raise


def log_lines(server: Server) -> list[dict[str, Any]]:
    """The JSON log lines the server wrote (other lines are skipped)."""
    lines = []
    for raw in server.log.read_text(errors="replace").splitlines():
        if raw.startswith("{"):
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue
    return lines


# --- killing an instance ------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), children first."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid: int) -> None:
    """SIGKILL a server process and its workers at once."""
    for target in [pid, *_descendants(pid)]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- Pub/Sub -------------------------------------------------------------------------------


class Topics:
    """The delivery topic with a pull subscription (to count messages) and, once the server
    is up, a push subscription to its /process_delivery (to process them)."""

    def __init__(self, suffix: str, topic: str | None = None) -> None:
        from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

        self.publisher = PublisherClient()
        self.subscriber = SubscriberClient()
        self.topic = f"projects/{PROJECT}/topics/{topic or topic_name(suffix)}"
        self.publisher.create_topic(name=self.topic, timeout=60)
        self.count_subscription = self._subscribe("count")

    def _subscribe(self, kind: str, **config: Any) -> str:
        name = f"projects/{PROJECT}/subscriptions/{kind}-{uuid.uuid4().hex[:10]}"
        self.subscriber.create_subscription(
            request={"name": name, "topic": self.topic, **config}, timeout=60
        )
        return name

    def push_to(self, server: Server, ack_deadline: int = 20) -> str:
        endpoint = f"http://127.0.0.1:{server.port}/process_delivery"
        return self._subscribe(
            "push",
            push_config={"push_endpoint": endpoint},
            ack_deadline_seconds=ack_deadline,
        )

    def repoint(self, subscription: str, server: Server) -> None:
        endpoint = f"http://127.0.0.1:{server.port}/process_delivery"
        self.subscriber.modify_push_config(
            request={"subscription": subscription, "push_config": {"push_endpoint": endpoint}},
            timeout=60,
        )

    def drain(self, at_least: int, timeout: float) -> list[Any]:
        """Pull (and ack) every message until `at_least` arrived and two more pulls came
        back empty; the received messages."""
        from google.api_core.exceptions import DeadlineExceeded

        received: list[Any] = []
        deadline = time.monotonic() + timeout
        empty_after_enough = 0
        while time.monotonic() < deadline:
            try:
                response = self.subscriber.pull(
                    request={"subscription": self.count_subscription, "max_messages": 500},
                    timeout=2,
                    retry=None,
                )
                batch = list(response.received_messages)
            except DeadlineExceeded:
                batch = []
            if batch:
                self.subscriber.acknowledge(
                    request={
                        "subscription": self.count_subscription,
                        "ack_ids": [m.ack_id for m in batch],
                    },
                    timeout=30,
                )
                received.extend(batch)
                continue
            if len(received) >= at_least:
                empty_after_enough += 1
                if empty_after_enough >= 2:
                    return received
            time.sleep(0.1)
        return received

    def envelopes(self, received: list[Any]) -> list[Delivery]:
        """Each pulled message as the POST a push subscription would make."""
        return [
            Delivery(
                m.message.attributes["delivery_id"],
                {"Content-Type": "application/json"},
                json.dumps(push_envelope(m, self.count_subscription)).encode(),
            )
            for m in received
        ]

    def close(self) -> None:
        self.subscriber.close()


def per_delivery(received: list[Any]) -> Counter[str]:
    """Messages per delivery id."""
    return Counter(m.message.attributes["delivery_id"] for m in received)


# --- deliveries and the storm client -------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    key: str
    headers: dict[str, str]
    body: bytes


def github_delivery(key: str | None = None, branch: str = "feature/reliability") -> Delivery:
    """A signed GitHub push (relayed and stored; a push to "main", the default branch,
    also publishes a deploy command)."""
    key = key or str(uuid.uuid4())
    body = json.dumps(
        {
            "ref": f"refs/heads/{branch}",
            "after": key.replace("-", "")[:40],
            "repository": {"full_name": "octo/runrun", "default_branch": "main"},
            "pusher": {"name": "octocat"},
        }
    ).encode()
    return Delivery(key, github_headers(body, key, secret=GITHUB_SECRET), body)


@dataclass
class Answer:
    key: str
    status: int  # 0: no answer (see `error`)
    replayed: bool = False
    retry_after: str | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""
    sent: bool = False  # the request was written to an open connection


def post(conn: http.client.HTTPConnection, path: str, delivery: Delivery, answer: Answer) -> None:
    conn.putrequest("POST", path)
    for name, value in delivery.headers.items():
        conn.putheader(name, value)
    conn.putheader("Content-Length", str(len(delivery.body)))
    conn.endheaders(delivery.body)
    answer.sent = True
    response = conn.getresponse()
    answer.body = response.read()
    answer.status = response.status
    answer.headers = {k.lower(): v for k, v in response.getheaders()}
    answer.replayed = answer.headers.get("idempotent-replayed") == "true"
    answer.retry_after = answer.headers.get("retry-after")


def storm(
    port: int,
    path: str,
    deliveries: Iterable[Delivery],
    *,
    connections: int = 80,
    timeout: float = 60.0,
    on_answer: Callable[[Answer], None] | None = None,
    stop: threading.Event | None = None,
) -> list[Answer]:
    """Send every delivery once, in the given order, over `connections` keep-alive
    connections working in parallel; one Answer per delivery, in sending order.

    A request that fails on a reused connection before anything came back is NOT retried:
    it is recorded with status 0 and the error, so the caller decides what it means.
    """
    work: queue.Queue[tuple[int, Delivery]] = queue.Queue()
    items = list(deliveries)
    for index, delivery in enumerate(items):
        work.put((index, delivery))
    answers: list[Answer | None] = [None] * len(items)

    def worker() -> None:
        conn: http.client.HTTPConnection | None = None
        try:
            while stop is None or not stop.is_set():
                try:
                    index, delivery = work.get_nowait()
                except queue.Empty:
                    break
                answer = Answer(delivery.key, 0)
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
                    post(conn, path, delivery, answer)
                    if answer.headers.get("connection", "").lower() == "close":
                        conn.close()
                        conn = None
                except (OSError, http.client.HTTPException) as exc:
                    answer.error = type(exc).__name__
                    if conn is not None:
                        conn.close()
                    conn = None
                answers[index] = answer
                if on_answer is not None:
                    on_answer(answer)
        finally:  # also on an error nobody expected: no socket left for the collector
            if conn is not None:
                conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout + 60)
    return [a for a in answers if a is not None]


def resend_until_2xx(
    port: int,
    path: str,
    sent: list[Delivery],
    answers: list[Answer],
    *,
    window: float,
    connections: int = 80,
) -> list[Answer]:
    """The provider's retries: every request answered anything but 2xx (or not at all) is
    sent again, in rounds over `connections` connections, after the longest Retry-After of
    the round (at most 5 s), until each has a 2xx or `window` s have passed. `answers` must
    be `sent`'s, in order; every retry's answer, in the order they came."""
    retries: list[Answer] = []
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        failed = [(d, a) for d, a in zip(sent, answers, strict=True) if not 200 <= a.status < 300]
        if not failed:
            break
        waits = [float(a.retry_after) for _, a in failed if (a.retry_after or "").isdigit()]
        time.sleep(min(max(waits, default=0.5), 5.0))
        sent = [d for d, _ in failed]
        answers = storm(port, path, sent, connections=connections)
        retries += answers
    return retries


def shuffled_copies(deliveries: list[Delivery], copies: int, seed: int = 7) -> list[Delivery]:
    items = [d for d in deliveries for _ in range(copies)]
    random.Random(seed).shuffle(items)
    return items


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Poll `condition` for at most `timeout` s; whether it became true (bounded wait)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


# --- secrets -------------------------------------------------------------------------------


def secret_needles(*extra: str) -> list[str]:
    """Values that must never appear in an answer or a log line."""
    return [*SECRETS.values(), *extra]


def find_secrets(texts: Iterable[str | bytes], needles: Iterable[str]) -> list[str]:
    """Every needle found in any text (empty when clean)."""
    wanted = [n for n in set(needles) if n and len(n) >= 8]
    found: set[str] = set()
    for text in texts:
        value = text.decode(errors="replace") if isinstance(text, bytes) else text
        for needle in wanted:
            if needle in value:
                found.add(needle)
    return sorted(found)


def signature_values(deliveries: Iterable[Delivery]) -> list[str]:
    """The signature header values that were sent, and their bare hex digests."""
    values = []
    for delivery in deliveries:
        signature = delivery.headers.get("X-Hub-Signature-256", "")
        if signature:
            values += [signature, signature.removeprefix("sha256=")]
    return values


def answer_texts(answers: Iterable[Answer]) -> Iterator[str]:
    for answer in answers:
        yield answer.body.decode(errors="replace")
        yield json.dumps(answer.headers)
