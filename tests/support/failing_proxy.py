"""An HTTP proxy in front of a local service that answers 503 while an outage lasts.

The outage is counted in refused requests, not in seconds, so a test can make a backend
"fail for a while" without sleeping through it (and without timed assertions).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass
class Outage:
    fail_first: int  # how many matching requests are refused before the backend "recovers"
    path_contains: str
    refused: int = 0
    forwarded: int = 0
    # (path, body) of every matching request passed on, for a test reading what was sent.
    sent: list[tuple[str, bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refuse(self, path: str, body: bytes = b"") -> bool:
        with self.lock:
            if self.path_contains in path and self.refused < self.fail_first:
                self.refused += 1
                return True
            self.forwarded += 1
            if self.path_contains in path:
                self.sent.append((path, body))
            return False


@contextmanager
def failing_proxy(upstream: str, outage: Outage) -> Iterator[str]:
    """Serve the proxy on 127.0.0.1; yields its host:port."""
    session = requests.Session()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out as two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK (about 40 ms per request).
        disable_nagle_algorithm = True

        def _relay(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if outage.refuse(self.path, body):
                self._answer(503, {"Content-Type": "application/json"}, b'{"error": {}}')
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            answer = session.request(
                self.command,
                f"http://{upstream}{self.path}",
                data=body,
                headers=headers,
                timeout=30,
            )
            kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            kept.pop("Content-Encoding", None)  # requests already decoded the body
            self._answer(answer.status_code, kept, answer.content)

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="failing-proxy", daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        session.close()
        thread.join(timeout=10)
