"""Route `/<target>/...` to that target's app with WSGI mount semantics.

The first path segment moves from PATH_INFO to SCRIPT_NAME (as Werkzeug's
DispatcherMiddleware does; `/NAME` alone becomes PATH_INFO `/`), so inside the target
`request.path` is what it would be under `functions-framework --target <target>` at `/`,
while `request.url` keeps the real URL.
`/_runrun/health` answers with the targets; `/_runrun/<name>` is a route the source's
library added (`runrun.hooks`: the webhook bundle's inspector is `/_runrun/inspect`), mounted
the same way; any other path is a 404 listing the targets.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ._target import RESERVED_SEGMENT, Target

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# Not ending in `z`: Cloud Run's front end reserves such paths (/healthz...).
HEALTH_PATH = f"/{RESERVED_SEGMENT}/health"
_OWN_PREFIX = f"/{RESERVED_SEGMENT}/"


class TargetDispatcher:
    """A WSGI app serving each target's app under `/<target name>`."""

    def __init__(
        self,
        targets: Iterable[Target],
        apps: Mapping[str, WSGIApplication],
        routes: Mapping[str, WSGIApplication] | None = None,
        hooks: Any = None,
    ) -> None:
        self.targets = tuple(targets)
        self.apps = dict(apps)
        self.routes = dict(routes or {})  # the library's, each at /_runrun/<name>
        self.hooks = hooks  # the source's `runrun_hooks` (each worker calls them)
        self._listing = [
            {"name": t.name, "signature_type": t.signature_type, "route": t.route}
            for t in self.targets
        ]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        segment, _, _ = path[1:].partition("/")
        app = self.apps.get(segment) if path.startswith("/") else None
        if app is not None:
            if "RAW_URI" not in environ and "REQUEST_URI" not in environ:
                # granian gives no raw request line: keep the path as sent before the target's
                # root becomes `/` (Twilio signs the URL it called, `/NAME` or `/NAME/`).
                environ["REQUEST_URI"] = _request_uri(path, environ.get("QUERY_STRING", ""))
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + "/" + segment
            # `/NAME` is the target's root, as `/` is under functions-framework (and as a
            # Cloud Function's URL without a trailing slash is): no redirect to `/NAME/`.
            environ["PATH_INFO"] = path[1 + len(segment) :] or "/"
            return app(environ, start_response)
        if path == HEALTH_PATH:
            if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
                return _json(start_response, "405 Method Not Allowed", {"error": "use GET"})
            return _json(start_response, "200 OK", {"status": "ok", "targets": self._listing})
        if path.startswith(_OWN_PREFIX):
            name, _, _ = path[len(_OWN_PREFIX) :].partition("/")
            route = self.routes.get(name)
            if route is not None:
                mount = _OWN_PREFIX + name
                environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "").rstrip("/") + mount
                environ["PATH_INFO"] = path[len(mount) :]
                return route(environ, start_response)
        body = {"error": f"no target at {path}", "targets": [t.route for t in self.targets]}
        return _json(start_response, "404 Not Found", body)


def _request_uri(path: str, query: str) -> str:
    # PATH_INFO is the decoded path as latin-1 text (PEP 3333): quote it back.
    quoted = urllib.parse.quote(path.encode("latin-1"), safe="/:@!$&'()*+,;=-._~")
    return f"{quoted}?{query}" if query else quoted


def _json(start_response: StartResponse, status: str, body: Any) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]
