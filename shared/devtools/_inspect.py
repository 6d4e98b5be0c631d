"""The inspector: `/_runrun/inspect`, a small page showing what the targets received, what
the processors ran, the idempotency records and the embedded queue, with a replay button
for dead-lettered messages.

    GET  /_runrun/inspect             the page (plain HTML polling the JSON below)
    GET  /_runrun/inspect/api/state   recent deliveries, runs, records, queue
    POST /_runrun/inspect/api/replay  {"message_id": ...}: put a dead-lettered message back

runrun mounts it there (the bundle's `routes` hook): it sees its mount in SCRIPT_NAME and
the rest of the path in PATH_INFO.

On by default in dev mode (`runrun serve --dev`) only; anywhere else only with
RUNRUN_INSPECT=1 and RUNRUN_INSPECT_TOKEN (`Settings.inspector_enabled`). When a token is set
every request needs it, as `Authorization: Bearer <token>` or the cookie that
`GET /_runrun/inspect?token=<token>` sets. Disabled, it is the same 404 as any unknown path.
It never shows a body, a secret or a signature: what it reads holds none, and any configured
secret value is masked anyway.

What it shows comes from each part's own interface: the activity recorder's reports, the
idempotency store's `recent()`, the queue's `messages()` and `replay()`.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from shared.runtime import Runtime, current_runtime
from shared.settings import DevSettings
from shared.settings._env import secret_like_values

from ._activity import ActivityRecorder

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

log = logging.getLogger("runrun.inspect")

COOKIE = "runrun_inspect"
PAGE = Path(__file__).with_name("_inspect.html")
_MAX_REPLAY_BODY = 4096


def _secret_values(runtime: Runtime) -> list[str]:
    values = set(secret_like_values()) | set(runtime.secrets.dev_values())
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

    def __init__(self, targets: Iterable[str], token: str | None) -> None:
        self.targets = list(targets)
        self.token = token.encode() if token else None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        mount = environ.get("SCRIPT_NAME", "").rstrip("/")
        path = (environ.get("PATH_INFO") or "").rstrip("/")  # "" is the page itself
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if path == "" and method == "GET" and self.token and "token" in query:
            return self._login(query["token"][0], mount, start_response)
        if not self._authorized(environ):
            headers = [("WWW-Authenticate", 'Bearer realm="runrun inspector"')]
            return _json(start_response, "401 Unauthorized", {"error": "token required"}, headers)
        if path == "" and method in ("GET", "HEAD"):
            return _send(start_response, "200 OK", PAGE.read_bytes(), "text/html; charset=utf-8")
        if path == "/api/state" and method in ("GET", "HEAD"):
            runtime = current_runtime()
            state = _mask(self.state(runtime), _secret_values(runtime))
            return _json(start_response, "200 OK", state)
        if path == "/api/replay" and method == "POST":
            return self._replay(environ, start_response)
        if path in ("", "/api/state", "/api/replay"):
            return _json(start_response, "405 Method Not Allowed", {"error": "wrong method"})
        return _json(start_response, "404 Not Found", {"error": f"nothing at {mount}{path}"})

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

    def _login(self, offered: str, mount: str, start_response: StartResponse) -> list[bytes]:
        assert self.token is not None
        if not hmac.compare_digest(offered.encode(), self.token):
            return _json(start_response, "401 Unauthorized", {"error": "wrong token"})
        cookie = f"{COOKIE}={offered}; Path={mount}; HttpOnly; SameSite=Strict; Max-Age=43200"
        # Off the address bar (and out of the browser's history) at once.
        headers = [("Location", mount), ("Set-Cookie", cookie)]
        return _send(start_response, "303 See Other", b"", "text/plain", headers)

    def state(self, runtime: Runtime) -> dict[str, Any]:
        """Everything the page shows."""
        settings = runtime.settings
        notes = []
        recorder = runtime.observers.find(ActivityRecorder)
        if recorder is None:  # this process records nothing; other workers may
            recorder = ActivityRecorder(settings.server.state_dir / "activity.sqlite3")
        records: list[dict[str, Any]] = []
        listed = runtime.idempotency.store.recent()
        if listed is None:
            notes.append(f"idempotency records live in the {settings.store.kind} store: not shown")
        else:
            records = [
                {
                    "target": r.target,
                    "key": r.key,
                    "status": r.status,
                    "lease_expires_at": r.lease_expires_at.timestamp(),
                    "expire_at": r.expire_at.timestamp(),
                    "response_status": r.response_status,
                }
                for r in listed
            ]
        queue: dict[str, Any] = {"messages": [], "counts": {}}
        messages = runtime.publisher.messages()
        if messages is None:
            notes.append("deliveries go to Pub/Sub: the queue is not shown")
        else:
            for m in messages:
                queue["messages"].append(
                    {
                        "message_id": m.message_id,
                        "topic": m.topic,
                        "published_at": m.published_at,
                        "state": m.state,
                        "attempts": m.attempts,
                        "next_attempt_at": m.next_attempt_at,
                        "last_error": m.last_error,
                        "source": m.attributes.get("source", ""),
                        "delivery_id": m.attributes.get("delivery_id", ""),
                        "event_type": m.attributes.get("event_type", ""),
                    }
                )
                queue["counts"][m.state] = queue["counts"].get(m.state, 0) + 1
        deliveries = recorder.recent_deliveries()
        if settings.traces.on:  # each delivery links to its trace
            from shared.tracing import trace_link

            for delivery in deliveries:
                trace_id = delivery.get("trace_id")
                delivery["trace_url"] = trace_link(settings, runtime.project, trace_id or "")
        return {
            "targets": self.targets,
            "backends": {"store": settings.store.kind, "queue": settings.queue.kind},
            "deliveries": deliveries,
            "runs": recorder.recent_runs(),
            "records": records,
            "queue": queue,
            "notes": notes,
        }

    def _replay(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
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
        queue = current_runtime().publisher
        if queue.messages() is None:
            return _json(start_response, "404 Not Found", {"error": "no local queue"})
        if not queue.replay(message_id):
            error = {"error": "no dead-lettered message with that id"}
            return _json(start_response, "404 Not Found", error)
        log.info("dead-lettered message replayed", extra={"message_id": message_id})
        return _json(start_response, "200 OK", {"replayed": message_id})


def make_inspector(targets: Iterable[str], dev: DevSettings) -> Inspector | None:
    """The inspector when the settings enable it, else None (its paths are 404s)."""
    if not dev.inspector_enabled:
        if dev.inspect:
            log.warning("RUNRUN_INSPECT ignored: outside dev mode it needs RUNRUN_INSPECT_TOKEN")
        return None
    return Inspector(targets, dev.inspect_token)


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
