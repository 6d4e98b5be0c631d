"""Small helpers every kind of test uses, kept once: a free local port, stopping a server
process the test started, and the HMAC that most providers sign with (the full per-provider
signers are `runrun._signing`, held to the providers' published examples)."""

from __future__ import annotations

import hashlib
import hmac
import socket
import subprocess
import threading
from typing import Any

_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """A port free on 127.0.0.1 right now (tests bind 127.0.0.1 only), and never one handed
    out before in this test run: a server started on an earlier one may not have bound it
    yet, and the kernel may offer it again (seen once as "Address already in use" when a
    fleet of fifteen servers started in a row)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        with _handed_out_lock:
            if port not in _handed_out:
                _handed_out.add(port)
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


def hex_hmac(secret: str, message: bytes) -> str:
    """Hex HMAC-SHA256 of `message` keyed with `secret` (GitHub, Stripe, Slack, Zoom...)."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def publish_push(queue: Any, topic: str, delivery_id: str) -> None:
    """Put one GitHub push on a local queue, as the receiving side would."""
    from shared import Delivery

    delivery = Delivery("github_webhook", delivery_id, "push", "application/json", "", b"{}")
    queue.publish(topic, delivery.data, delivery.attributes())
