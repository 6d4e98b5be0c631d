"""The inspector: `/_runrun/inspect`, a small page showing what the targets received, what
the processors ran, the idempotency records and the embedded queue, with a replay button
for dead-lettered messages.

    GET  /_runrun/inspect             the page (plain HTML polling the JSON below)
    GET  /_runrun/inspect/api/state   recent deliveries, runs, records, queue
    POST /_runrun/inspect/api/replay  {"message_id": ...}: put a dead-lettered message back

On by default locally, off on Cloud Run unless RUNRUN_INSPECT=1 and RUNRUN_INSPECT_TOKEN
are set (see shared._activity); when a token is set every request needs it, as
`Authorization: Bearer <token>` or the cookie that `GET /_runrun/inspect?token=<token>`
sets. Disabled, it is the same 404 as any unknown path. It never shows a body, a secret or a
signature: what it reads holds none, and any configured secret value is masked anyway.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
from collections.abc import Iterable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from ._discover import Target
from ._dispatch import INSPECT_PATH

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("runrun.inspect")

COOKIE = "runrun_inspect"
PAGE = Path(__file__).with_name("_inspect.html")
# Env vars whose values are masked wherever they would appear (defence in depth).
_SECRET_WORDS = ("SECRET", "TOKEN", "KEY", "STATE", "PASSWORD", "CREDENTIAL")
_MAX_REPLAY_BODY = 4096


def _secret_values() -> list[str]:
    values = {
        part.strip()
        for name, value in os.environ.items()
        if any(word in name.upper() for word in _SECRET_WORDS)
        for part in value.split(",")
    }
    # Longest first, so that a secret containing another is masked whole.
    return sorted((v for v in values if len(v) >= 4), key=len, reverse=True)


def _mask(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "[hidden]")
        return value
    if isinstance(value, dict):
        return {key: _mask(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_mask(item, secrets) for item in value]
    return value


class Inspector:
    """The WSGI app behind `/_runrun/inspect`."""

    def __init__(self, targets: Iterable[Target], token: str | None) -> None:
        self.targets = [t.name for t in targets]
        self.token = token.encode() if token else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = (environ.get("PATH_INFO") or "/").rstrip("/")
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if path == INSPECT_PATH and method == "GET" and self.token and "token" in query:
            return self._login(query["token"][0], start_response)
        if not self._authorized(environ):
            headers = [("WWW-Authenticate", 'Bearer realm="runrun inspector"')]
            return _json(start_response, "401 Unauthorized", {"error": "token required"}, headers)
        if path == INSPECT_PATH and method in ("GET", "HEAD"):
            return _send(start_response, "200 OK", PAGE.read_bytes(), "text/html; charset=utf-8")
        if path == f"{INSPECT_PATH}/api/state" and method in ("GET", "HEAD"):
            return _json(start_response, "200 OK", _mask(self.state(), _secret_values()))
        if path == f"{INSPECT_PATH}/api/replay" and method == "POST":
            return self._replay(environ, start_response)
        if path in (INSPECT_PATH, f"{INSPECT_PATH}/api/state", f"{INSPECT_PATH}/api/replay"):
            return _json(start_response, "405 Method Not Allowed", {"error": "wrong method"})
        return _json(start_response, "404 Not Found", {"error": f"nothing at {path}"})

    def _authorized(self, environ: WSGIEnvironment) -> bool:
        if self.token is None:
            return True
        offered = ""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        if auth[:7].lower() == "bearer ":
            offered = auth[7:].strip()
        else:
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(environ.get("HTTP_COOKIE", ""))
            except Exception:  # noqa: BLE001 - a malformed cookie is no token
                return False
            morsel = cookie.get(COOKIE)
            offered = morsel.value if morsel is not None else ""
        return hmac.compare_digest(offered.encode(), self.token)

    def _login(self, offered: str, start_response: StartResponse) -> list[bytes]:
        assert self.token is not None
        if not hmac.compare_digest(offered.encode(), self.token):
            return _json(start_response, "401 Unauthorized", {"error": "wrong token"})
        cookie = (
            f"{COOKIE}={offered}; Path={INSPECT_PATH}; HttpOnly; SameSite=Strict; Max-Age=43200"
        )
        # Off the address bar (and out of the browser's history) at once.
        headers = [("Location", INSPECT_PATH), ("Set-Cookie", cookie)]
        return _send(start_response, "303 See Other", b"", "text/plain", headers)

    def state(self) -> dict[str, Any]:
        """Everything the page shows."""
        from shared import get_settings
        from shared._activity import (
            idempotency_records,
            queue_messages,
            recent_deliveries,
            recent_runs,
        )

        settings = get_settings()
        notes = []
        records: list[dict[str, Any]] = []
        if settings.store == "sqlite":
            records = idempotency_records()
        else:
            notes.append(f"idempotency records live in the {settings.store} store: not shown")
        queue: dict[str, Any] = {"messages": [], "counts": {}}
        if settings.queue == "local":
            queue["messages"] = queue_messages()
            for message in queue["messages"]:
                state = message["state"]
                queue["counts"][state] = queue["counts"].get(state, 0) + 1
        else:
            notes.append("deliveries go to Pub/Sub: the queue is not shown")
        return {
            "targets": self.targets,
            "backends": {"store": settings.store, "queue": settings.queue},
            "deliveries": recent_deliveries(),
            "runs": recent_runs(),
            "records": records,
            "queue": queue,
            "notes": notes,
        }

    def _replay(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        from shared import get_settings
        from shared.handoff import LocalQueue, ensure_worker, publisher

        # A custom header cannot be sent cross-site without a CORS preflight, which is
        # never granted: another web page cannot make a browser replay messages.
        if environ.get("HTTP_X_RUNRUN_INSPECT") != "1":
            return _json(start_response, "403 Forbidden", {"error": "X-Runrun-Inspect: 1 needed"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(min(length, _MAX_REPLAY_BODY))
            message_id = json.loads(raw)["message_id"]
            if not isinstance(message_id, str):
                raise TypeError("message_id")
        except (ValueError, KeyError, TypeError):
            return _json(start_response, "400 Bad Request", {"error": "send {message_id}"})
        queue = publisher.get() if get_settings().queue == "local" else None
        if not isinstance(queue, LocalQueue):
            return _json(start_response, "404 Not Found", {"error": "no local queue"})
        if not queue.replay_dead(message_id):
            error = {"error": "no dead-lettered message with that id"}
            return _json(start_response, "404 Not Found", error)
        ensure_worker()
        log.info("dead-lettered message replayed", extra={"message_id": message_id})
        return _json(start_response, "200 OK", {"replayed": message_id})


def make_inspector(targets: Iterable[Target]) -> Inspector | None:
    """The inspector when enabled in this environment, else None (its paths are 404s)."""
    from shared._activity import inspector_enabled, inspector_token

    if not inspector_enabled():
        if os.environ.get("RUNRUN_INSPECT", "").strip().lower() in ("1", "true", "on", "yes"):
            log.warning("RUNRUN_INSPECT ignored on Cloud Run without RUNRUN_INSPECT_TOKEN")
        return None
    return Inspector(targets, inspector_token())


def _send(
    start_response: StartResponse,
    status: str,
    data: bytes,
    content_type: str,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
            *(headers or []),
        ],
    )
    return [data]


def _json(
    start_response: StartResponse,
    status: str,
    body: Any,
    headers: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    return _send(start_response, status, json.dumps(body).encode(), "application/json", headers)
