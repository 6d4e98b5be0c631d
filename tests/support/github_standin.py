"""A stand-in for GitHub's REST API, the part catch-up uses, written from GitHub's OpenAPI
description (github/rest-api-description, api.github.com 2022-11-28), served for real on
127.0.0.1.

Operations: `repos/list-webhook-deliveries`, `orgs/list-webhook-deliveries`,
`apps/list-webhook-deliveries` (`per_page`: integer, max 100; `cursor`: "the starting
delivery from which the page of deliveries is fetched. Refer to the `link` header for the
next and previous page cursors"; `status`: success | failure, by status code range; 200 with
`hook-delivery-item`s, newest first, 400 and 422 otherwise); the matching `redeliver-webhook-
delivery` POSTs (202, an empty object); `apps/get-repo-installation`,
`apps/get-org-installation` and `apps/create-installation-access-token` (201: token,
expires_at) for a GitHub App. Authentication: a token, an installation token, or the App's
RS256 JWT (`iat`, `exp` at most 10 minutes ahead, `iss` the app id), checked here with PyJWT,
not with the library catch-up signs with. Every answer carries the `x-ratelimit-*` headers;
a spent primary limit answers 403 (or 429) with `x-ratelimit-remaining: 0`, a secondary limit
403 or 429 with `retry-after` (docs.github.com, "Rate limits for the REST API").

Time is the test's `FakeClock`: waits are observed through its sleeper, never the wall clock.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.support.github_auth import Caller, StandInAuth

DOCS = "https://docs.github.com/rest"
Answer = tuple[int, Any, dict[str, str]]
WINDOW = 3 * 24 * 3600


class FakeClock:
    """Epoch seconds that move only when the code under test sleeps; every sleep recorded."""

    def __init__(self, start: float) -> None:
        self.now = start
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += max(seconds, 0.0)


@dataclass
class Attempt:
    """One delivery attempt GitHub keeps for a hook (a `hook-delivery-item`, plus its body)."""

    id: int
    guid: str
    delivered_at: float
    status_code: int
    redelivery: bool = False
    event: str = "push"
    body: bytes = b"{}"

    def item(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guid": self.guid,
            "delivered_at": iso(self.delivered_at),
            "redelivery": self.redelivery,
            "duration": 0.05,
            "status": "OK" if 200 <= self.status_code < 300 else "Invalid HTTP Response",
            "status_code": self.status_code,
            "event": self.event,
            "action": None,
            "installation_id": None,
            "repository_id": 1296269,
            "throttled_at": None,
        }


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Limits:
    """The primary limit (per hour) and secondary limits scheduled by a test."""

    limit: int = 5000
    remaining: int = 5000
    reset_at: float = 0.0
    status: int = 403  # what a spent primary limit answers (GitHub: 403 or 429)
    # Other clients of the same account spend what is left after this many more requests.
    spent_after: int | None = None
    # (method, status, retry_after or None): the next request with that method meets it.
    secondary: list[tuple[str, int, int | None]] = field(default_factory=list)


@dataclass
class GitHubStandIn:
    clock: FakeClock
    auth: StandInAuth
    hooks: dict[str, list[Attempt]] = field(default_factory=dict)  # by deliveries path
    limits: Limits = field(default_factory=Limits)
    # Makes a redelivery: the new attempt's status code; None leaves it pending (GitHub
    # answered 202 and has not made the attempt yet).
    deliver: Callable[[Attempt], int] | None = None
    calls: list[tuple[str, str, int]] = field(default_factory=list)  # method, path, status
    redelivery_requests: list[int] = field(default_factory=list)
    url: str = ""
    _ids: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, guid: str, status: int, age: float, **fields: Any) -> Attempt:
        """A new attempt for the hook at `path`, made `age` seconds ago."""
        with self._lock:
            self._ids += 1
            attempt = Attempt(self._ids, guid, self.clock() - age, status, **fields)
            self.hooks.setdefault(path, []).append(attempt)
            return attempt

    def handle(self, method: str, target: str, headers: dict[str, str]) -> Answer:
        """(status, JSON body, extra headers: Link, retry-after) for one request."""
        path, query = urlsplit(target).path, parse_qs(urlsplit(target).query)
        answer = self._rate_limited(method)
        if answer is None:
            caller = self.auth.caller(headers.get("authorization", ""), self.clock())
            if isinstance(caller, tuple):
                answer = (*caller, {})
            else:
                answer = self._route(method, path, query, caller)
        with self._lock:
            self.calls.append((method, path, answer[0]))
        return answer

    def _route(self, method: str, path: str, query: dict[str, list[str]], caller: Caller) -> Answer:
        found = re.fullmatch(r"(.*)/deliveries(?:/(\d+)/attempts)?", path)
        if found and found.group(1) in self.hooks:
            refused = self.auth.may_read_hook(caller, found.group(1))
            if refused is not None:
                return (*refused, {})
            if method == "GET" and found.group(2) is None:
                return self._list(found.group(1), query)
            if method == "POST" and found.group(2) is not None:
                return (*self._redeliver(found.group(1), int(found.group(2))), {})
        answer = self.auth.app_route(method, path, caller, self.clock())
        if answer is not None:
            return (*answer, {})
        return 404, error("Not Found"), {}

    def _list(self, hook: str, query: dict[str, list[str]]) -> Answer:
        raw = query.get("per_page", ["30"])[0]
        if not raw.isdigit() or int(raw) < 1:
            return 422, invalid("per_page", f"{raw!r} is not a positive integer"), {}
        per_page = min(int(raw), 100)  # "The number of results per page (max 100)"
        status = query.get("status", [None])[0]
        if status not in (None, "success", "failure"):
            return 422, invalid("status", f"{status!r} is not one of success, failure"), {}
        with self._lock:
            items = sorted(self.hooks[hook], key=lambda a: (a.delivered_at, a.id), reverse=True)
        if status is not None:
            low = 200 if status == "success" else 400
            items = [a for a in items if low <= a.status_code <= low + 199]
        start = 0
        if "cursor" in query:
            cursor = query["cursor"][0]
            ids = [f"v1_{a.id}" for a in items]
            if cursor not in ids:
                return 422, invalid("cursor", f"{cursor!r} is not a cursor of this list"), {}
            start = ids.index(cursor)
        page, rest = items[start : start + per_page], items[start + per_page :]
        headers = {}
        if rest:
            nxt = urlencode({"per_page": per_page, "cursor": f"v1_{rest[0].id}"})
            headers["Link"] = f'<{self.url}{hook}/deliveries?{nxt}>; rel="next"'
        return 200, [a.item() for a in page], headers

    def _redeliver(self, hook: str, attempt_id: int) -> tuple[int, Any]:
        with self._lock:
            original = next((a for a in self.hooks[hook] if a.id == attempt_id), None)
        if original is None:
            return 404, error("Not Found")
        if original.delivered_at < self.clock() - WINDOW:
            return 422, invalid("delivery_id", "deliveries older than 3 days cannot be redelivered")
        with self._lock:
            self.redelivery_requests.append(attempt_id)
        if self.deliver is not None:
            status = self.deliver(original)
            event, body = original.event, original.body
            self.add(hook, original.guid, status, 0, redelivery=True, event=event, body=body)
        return 202, {}

    def _rate_limited(self, method: str) -> Answer | None:
        limits, now = self.limits, self.clock()
        with self._lock:
            for index, (which, status, retry_after) in enumerate(limits.secondary):
                if which == method:
                    del limits.secondary[index]
                    message = "You have exceeded a secondary rate limit. Please wait."
                    wait = {} if retry_after is None else {"retry-after": str(retry_after)}
                    return status, error(message), wait
            if now >= limits.reset_at:
                limits.remaining, limits.reset_at = limits.limit, now + 3600
            if limits.spent_after is not None:
                limits.spent_after -= 1
                if limits.spent_after < 0:
                    limits.remaining, limits.spent_after = 0, None
            if limits.remaining == 0:
                return limits.status, error("API rate limit exceeded for the stand-in."), {}
            limits.remaining -= 1
        return None

    def rate_headers(self) -> dict[str, str]:
        with self._lock:
            limits = self.limits
            return {
                "x-ratelimit-limit": str(limits.limit),
                "x-ratelimit-remaining": str(limits.remaining),
                "x-ratelimit-used": str(limits.limit - limits.remaining),
                "x-ratelimit-reset": str(int(limits.reset_at)),
                "x-ratelimit-resource": "core",
            }


def error(message: str) -> dict[str, Any]:
    return {"message": message, "documentation_url": DOCS}


def invalid(field_name: str, message: str) -> dict[str, Any]:
    details = {"resource": "HookDelivery", "field": field_name, "code": "invalid"}
    return {**error("Validation Failed"), "errors": [{**details, "message": message}]}


def serve(stand_in: GitHubStandIn) -> Callable[[], None]:
    """Serve `stand_in` on 127.0.0.1 (sets its url); returns how to stop it."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, body, extra = stand_in.handle(self.command, self.path, headers)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in {**stand_in.rate_headers(), **extra}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)

    return stop
