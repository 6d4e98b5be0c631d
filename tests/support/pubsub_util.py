"""Helpers for the end-to-end tests: signing, apps, Pub/Sub pulls and a local relay target.

Signatures are computed here from the providers' documentation, never with the project's
own verifiers, so a verifier bug cannot hide behind a matching test helper.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import flask
import functions_framework
import pytest

from tests.support.emulators import Emulators
from tests.support.helpers import hex_hmac

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "runrun-test"
SECRET = "it's a secret to everybody"

_warmed: set[str] = set()


def github_signature(secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256` as GitHub documents it: "sha256=" + hex HMAC-SHA256(secret, body).

    https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    """
    return "sha256=" + hex_hmac(secret, body)


def github_headers(
    body: bytes, delivery_id: str, event: str = "push", secret: str = SECRET
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id,
        "X-Hub-Signature-256": github_signature(secret, body),
        "User-Agent": "GitHub-Hookshot/test",
    }


def push_body(
    *, ref: str = "refs/heads/main", default_branch: str = "main", after: str = "c0ffee"
) -> bytes:
    """A GitHub push payload with the fields the processors read."""
    payload = {
        "ref": ref,
        "before": "0" * 40,
        "after": after,
        "deleted": False,
        "repository": {"full_name": "octo/runrun", "default_branch": default_branch},
        "pusher": {"name": "octocat"},
    }
    return json.dumps(payload).encode()


def make_app(target: str, monkeypatch: pytest.MonkeyPatch) -> flask.Flask:
    """functions-framework's own app for `target` from main.py.

    create_app writes FUNCTION_TARGET / FUNCTION_SIGNATURE_TYPE into os.environ; setting
    them through monkeypatch first makes the test restore them afterwards.
    """
    monkeypatch.setenv("FUNCTION_TARGET", target)
    monkeypatch.setenv("FUNCTION_SIGNATURE_TYPE", "")
    monkeypatch.delenv("FUNCTION_SIGNATURE_TYPE")
    app: flask.Flask = functions_framework.create_app(  # type: ignore[no-untyped-call]
        target, source=str(ROOT / "main.py")
    )
    return app


def wait_for(
    condition: Callable[[], Any], what: str, timeout: float = 120.0, interval: float = 0.05
) -> Any:
    """Poll `condition` until it returns something truthy; fail with `what` after `timeout`
    (a safety net for a hang, far above any wait on a loaded machine: never a timing check)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {what}")
        time.sleep(interval)


def warm_up(emulators: Emulators) -> None:
    """One generous first write to each emulator: the JVMs take a second or more to warm,
    which must not eat the 2 s request budget of the first test that touches them."""
    if emulators.firestore_host in _warmed:
        return
    from google.cloud import firestore
    from google.cloud.pubsub_v1 import PublisherClient

    client = firestore.Client(project=PROJECT)
    client.collection("warm-up").document("warm-up").set({"ok": True}, timeout=60)
    client.close()  # type: ignore[no-untyped-call]
    publisher = PublisherClient()
    topic = f"projects/{PROJECT}/topics/warm-up-{os.getpid()}"
    from google.api_core.exceptions import AlreadyExists

    try:
        publisher.create_topic(name=topic, timeout=60)
    except AlreadyExists:
        pass
    _warmed.add(emulators.firestore_host)


class PubSub:
    """Topics and pull subscriptions on the emulator (PUBSUB_EMULATOR_HOST must be set)."""

    def __init__(self, project: str = PROJECT) -> None:
        from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

        self.project = project
        self.publisher = PublisherClient()
        self.subscriber = SubscriberClient()

    def close(self) -> None:
        self.subscriber.close()

    def subscribe(self, topic: str) -> str:
        """Create `topic` (if needed) and a fresh pull subscription to it; its path.

        Messages published before a subscription exists are never delivered to it, so
        every test subscribes before it sends anything.
        """
        from google.api_core.exceptions import AlreadyExists

        topic_path = f"projects/{self.project}/topics/{topic}"
        try:
            self.publisher.create_topic(name=topic_path, timeout=30)
        except AlreadyExists:
            pass
        subscription = f"projects/{self.project}/subscriptions/{topic}-sub-{os.urandom(4).hex()}"
        self.subscriber.create_subscription(name=subscription, topic=topic_path, timeout=30)
        return subscription

    def pull(self, subscription: str, expected: int, timeout: float = 15.0) -> list[Any]:
        """Every message on `subscription` (acked): waits, bounded, until at least `expected`
        arrived, then pulls once more to catch any extra ones."""
        from google.api_core.exceptions import DeadlineExceeded

        received: list[Any] = []
        deadline = time.monotonic() + timeout
        extra_pull_done = False
        while True:
            try:
                response = self.subscriber.pull(
                    request={"subscription": subscription, "max_messages": 100},
                    # With a long deadline the emulator holds an empty pull open for ~4 s;
                    # with a short one it answers at once. The loop bounds the total wait.
                    timeout=1,
                    retry=None,
                )
                batch = list(response.received_messages)
            except DeadlineExceeded:
                batch = []
            if batch:
                self.subscriber.acknowledge(
                    request={
                        "subscription": subscription,
                        "ack_ids": [m.ack_id for m in batch],
                    },
                    timeout=30,
                )
                received.extend(batch)
                continue
            if len(received) >= expected:
                if extra_pull_done:
                    return received
                extra_pull_done = True
                continue
            if time.monotonic() > deadline:
                pytest.fail(
                    f"only {len(received)} of {expected} messages arrived on {subscription}"
                )
            time.sleep(0.05)


def push_envelope(received: Any, subscription: str) -> dict[str, Any]:
    """The body a Pub/Sub push subscription POSTs for one pulled message."""
    message = received.message
    return {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": dict(message.attributes),
            "messageId": message.message_id,
            "publishTime": message.publish_time.isoformat().replace("+00:00", "Z"),
        },
        "subscription": subscription,
    }


@dataclass
class RelayTarget:
    """A real HTTP server on 127.0.0.1 that records every POST and answers `status`."""

    status: int = 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answered(self, status: int) -> list[tuple[dict[str, str], bytes]]:
        """Requests that were answered with `status` (the status is recorded per request)."""
        with self.lock:
            return [(h, b) for h, b in self.requests if h.get("x-answered") == str(status)]


@contextmanager
def relay_server() -> Iterator[tuple[RelayTarget, str]]:
    target = RelayTarget()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with target.lock:
                status = target.status
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers["x-answered"] = str(status)
                target.requests.append((headers, body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield target, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextmanager
def silent_server() -> Iterator[str]:
    """A host:port that accepts TCP connections and never answers (a hung backend)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stopping.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stopping.set()
        thread.join(10)
        for conn in held:
            conn.close()
        listener.close()
