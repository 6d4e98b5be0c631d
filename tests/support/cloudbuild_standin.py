"""A local stand-in for the Cloud Build REST API (Cloud Build has no emulator): the three
calls the staging deploy makes, as the official client sends them.

    POST /v1/projects/P/triggers/T:run?name=projects/P/locations/R/triggers/T
                                        -> a long-running Operation (the body: the RepoSource)
    GET  /v1/projects/P/builds?parent=projects/P/locations/R&filter=tags="..."
                                        -> the builds whose tags match
    GET  /v1/operations/build/P/ID      -> the Operation again

(The client picks the first of each method's URL templates that its request fills: with
both project id and resource name set, that is the `projects/{project_id}` form above, the
location travelling in `name` / `parent`, as the API documents.)

Like a trigger whose build config lists `tags: [$_RUNRUN_DELIVERY]`, each build is tagged
with that substitution's value. Faults: the first `fail_first` calls answer 503; triggers
named in `forbidden` answer 403, and any trigger not in `triggers` 404.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

METADATA_TYPE = "type.googleapis.com/google.devtools.cloudbuild.v1.BuildOperationMetadata"
_RUN = re.compile(r"^/v1/projects/([^/]+)/triggers/([^/:]+):run$")
_LIST = re.compile(r"^/v1/projects/([^/]+)/builds$")
_LOCATED = re.compile(r"^projects/([^/]+)/locations/([^/]+)(?:/triggers/([^/]+))?$")
_OPERATION = re.compile(r"^/v1/(operations/build/[^/]+/[^/]+)$")
_TAG_FILTER = re.compile(r'^tags="([^"]+)"$')


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class CloudBuildStandIn:
    triggers: set[str]
    forbidden: set[str] = field(default_factory=set)
    fail_first: int = 0
    calls: list[Call] = field(default_factory=list)
    builds: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def runs(self) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path.endswith(":run")]

    def start(self) -> CloudBuildStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                call = Call(method, parts.path, urllib.parse.parse_qs(parts.query), body)
                status, answer = standin.handle(call)
                self._answer(status, answer)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def handle(self, call: Call) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.calls.append(call)
            if self.fail_first > 0:
                self.fail_first -= 1
                return _error(503, "UNAVAILABLE", "the service is unavailable, try again")
            if call.method == "POST" and (match := _RUN.match(call.path)):
                project, trigger = match.groups()
                name = (call.query.get("name") or [""])[0]
                located = _LOCATED.match(name)
                if located is None or located.groups() != (project, located[2], trigger):
                    return _error(400, "INVALID_ARGUMENT", f"name {name!r} does not match")
                return self._run(project, trigger, call.body or {})
            if call.method == "GET" and (match := _LIST.match(call.path)):
                return self._list(call.query)
            if call.method == "GET" and (match := _OPERATION.match(call.path)):
                name = match.group(1)
                found = [b for b in self.builds if b["_operation"] == name]
                if not found:
                    return _error(404, "NOT_FOUND", f"no operation {name}")
                return 200, _operation(found[0])
            return _error(404, "NOT_FOUND", f"no route {call.method} {call.path}")

    def _run(
        self, project: str, trigger: str, source: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if trigger in self.forbidden:
            return _error(403, "PERMISSION_DENIED", "the caller lacks cloudbuild.builds.create")
        if trigger not in self.triggers:
            return _error(404, "NOT_FOUND", f"trigger {trigger} not found")
        substitutions = source.get("substitutions") or {}
        build_id = str(uuid.uuid4())
        build = {
            "id": build_id,
            "projectId": project,
            "status": "QUEUED",
            "buildTriggerId": trigger,
            "substitutions": substitutions,
            "tags": [v for k, v in substitutions.items() if k == "_RUNRUN_DELIVERY"],
            "source": {"repoSource": {"commitSha": source.get("commitSha", "")}},
            "_operation": f"operations/build/{project}/{build_id}",
        }
        self.builds.append(build)
        return 200, _operation(build)

    def _list(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        text = (query.get("filter") or [""])[0]
        match = _TAG_FILTER.match(text)
        if match is None:
            return _error(400, "INVALID_ARGUMENT", f"unsupported filter {text!r}")
        found = [_public(b) for b in self.builds if match.group(1) in b["tags"]]
        size = int((query.get("pageSize") or ["0"])[0]) or len(found)
        return 200, {"builds": found[:size]}


def _public(build: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in build.items() if not k.startswith("_")}


def _operation(build: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": build["_operation"],
        "metadata": {"@type": METADATA_TYPE, "build": _public(build)},
        "done": False,
    }


def _error(code: int, status: str, message: str) -> tuple[int, dict[str, Any]]:
    return code, {"error": {"code": code, "message": message, "status": status}}
