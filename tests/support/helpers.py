"""Small helpers every kind of test uses, kept once: a free local port, stopping a server
process the test started, and the HMAC that most providers sign with (the full per-provider
signers are in each provider's package, held to the providers' published examples)."""

from __future__ import annotations

import hashlib
import hmac
import random
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()
_LOWEST = 10000  # below the kernel's ephemeral range, above the well-known services


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out by itself."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port free on 127.0.0.1 right now (tests bind 127.0.0.1 only) that stays free until
    the server given it binds it, which may be a second later.

    A port the kernel picks (bind to port 0) is from its ephemeral range, which it also
    hands to outgoing connections and may offer again: either can take the port first and
    the server then fails with "Address already in use" (seen once when a fleet of fifteen
    servers started in a row). So the port is drawn at random from below that range, where
    the kernel never picks on its own, and never handed out twice in one test run.
    """
    ceiling = max(_ephemeral_floor(), _LOWEST + 1000)
    while True:
        port = random.randrange(_LOWEST, ceiling)
        with _handed_out_lock:
            if port in _handed_out:
                continue
            _handed_out.add(port)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use: another draw
        return port


def stop_process(process: subprocess.Popen[Any] | None, timeout: float = 10) -> None:
    """Stop a process the test started: SIGTERM, then SIGKILL if it has not exited in time."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def rsa_key_pair(*, pkcs1: bool = False) -> tuple[str, bytes]:
    """A fresh 2048-bit RSA key: (private PEM text, public PEM). PKCS#8 unless `pkcs1` (the
    "BEGIN RSA PRIVATE KEY" form GitHub hands out for an App's key)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    form = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if pkcs1
        else serialization.PrivateFormat.PKCS8
    )
    private = key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption())
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public


def hex_hmac(secret: str, message: bytes) -> str:
    """Hex HMAC-SHA256 of `message` keyed with `secret` (GitHub, Stripe, Slack, Zoom...)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def publish_push(queue: Any, topic: str, delivery_id: str) -> None:
    """Put one GitHub push on a local queue, as the receiving side would."""
    from shared import Delivery

    delivery = Delivery("github_webhook", delivery_id, "push", "application/json", "", b"{}")
    queue.publish(topic, delivery.data, delivery.attributes())


def idempotency_store(kind: str, request: Any, tmp_path: Path) -> Any:
    """An IdempotencyStore of `kind`: memory, SQLite in `tmp_path`, or Firestore on the
    session's emulators (`request` asks for them)."""
    if kind == "memory":
        from shared.backends.idempotency import MemoryStore

        return MemoryStore()
    if kind == "sqlite":
        from shared.backends.idempotency._sqlite import SqliteStore

        return SqliteStore(tmp_path / "keys.sqlite3")
    from shared import current_runtime, get_settings
    from shared.backends.idempotency._firestore import FirestoreStore
    from tests.support.pubsub_util import warm_up

    warm_up(request.getfixturevalue("on_emulators"))
    runtime = current_runtime()
    return FirestoreStore(lambda: runtime.firestore, get_settings().store.idempotency_collection)
