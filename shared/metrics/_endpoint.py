"""`/_runrun/metrics`: the Prometheus text exposition of every worker's counts.

    GET /_runrun/metrics    Authorization: Bearer <RUNRUN_METRICS_TOKEN>

runrun mounts it there (the bundle's `routes` hook). When a token is set (always, outside
dev mode: `MetricsSettings.served`) every request needs it, as a bearer token, which is
what Prometheus' `authorization` scrape setting sends; a missing or wrong one is 401. When
the metrics are not served, nothing is mounted: the path is the same 404 as any unknown one.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# What a scrape answers: (body, content type).
Exposition = Callable[[], tuple[bytes, str]]


class MetricsEndpoint:
    """The WSGI app behind `/_runrun/metrics`."""

    def __init__(self, token: str | None, exposition: Exposition) -> None:
        self.token = token.encode() if token else None
        self.exposition = exposition

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = (environ.get("PATH_INFO") or "").rstrip("/")
        if path:
            mount = environ.get("SCRIPT_NAME", "")
            return _send(start_response, "404 Not Found", f"nothing at {mount}{path}\n".encode())
        if environ.get("REQUEST_METHOD", "GET") != "GET":
            return _send(start_response, "405 Method Not Allowed", b"use GET\n", [("Allow", "GET")])
        if not self._authorized(environ.get("HTTP_AUTHORIZATION", "")):
            headers = [("WWW-Authenticate", 'Bearer realm="runrun metrics"')]
            message = b"a bearer token is required (RUNRUN_METRICS_TOKEN)\n"
            return _send(start_response, "401 Unauthorized", message, headers)
        body, content_type = self.exposition()
        return _send(start_response, "200 OK", body, content_type=content_type)

    def _authorized(self, header: str) -> bool:
        if self.token is None:
            return True
        scheme, _, offered = header.partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(offered.strip().encode(), self.token)


def _send(
    start_response: StartResponse,
    status: str,
    body: bytes,
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "text/plain; charset=utf-8",
) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            *(headers or []),
        ],
    )
    return [body]
