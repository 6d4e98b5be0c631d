"""Each request's WSGI environ under granian, without the process's environment in it.

granian starts every request's environ from a copy of `os.environ`, in the CGI manner, so
every variable of the process reached the targets in `request.environ`: the webhook secrets
where an error reporter or a debug page may show them, and a variable such as HTTP_PROXY as
a request header (`Proxy`). gunicorn, under functions-framework, puts none of them there.

granian's worker servers build each worker's request callback with the function their
modules import as `_wsgi_call_wrap`; `install` points both at `callback_wrapper`, which
builds the environ from the WSGI constants and the request's own keys only. Like the worker
classes `serve` drives, that name is granian's internals: requirements.txt pins granian to
the release line this was written against.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from granian import wsgi
from granian.server import mp, mt

# Untyped in granian: the start_response that records status and headers, and the
# iterator wrapper that forwards close() to the app's response.
_Response: Any = wsgi.Response
_ResponseIterWrap: Any = wsgi.ResponseIterWrap


def callback_wrapper(
    callback: Callable[..., Any], scope_opts: dict[str, Any], access_log_fmt: str | None = None
) -> Callable[[Any, dict[str, Any]], int]:
    """The callable granian's worker calls per request: (protocol, scope) -> status.

    `access_log_fmt` is always None: `serve` turns granian's access log off.
    """
    prefix = scope_opts.get("url_path_prefix") or ""
    constants: dict[str, Any] = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SCRIPT_NAME": prefix,
        "SERVER_SOFTWARE": "Granian",
        "wsgi.errors": sys.stderr,
        "wsgi.input_terminated": True,  # werkzeug reads the body to its end without a length
        "wsgi.multiprocess": False,
        "wsgi.multithread": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }

    @functools.wraps(callback)
    def run(protocol: Any, scope: dict[str, Any]) -> int:
        start_response = _Response()
        environ = constants | scope
        if prefix:
            environ["PATH_INFO"] = scope["PATH_INFO"][len(prefix) :] or "/"
        body = callback(environ, start_response)
        status: int = start_response.status
        if isinstance(body, list):
            protocol.response_bytes(status, start_response.headers, b"".join(body))
        else:
            protocol.response_iter(status, start_response.headers, _ResponseIterWrap(body))
        return status

    return run


def install() -> None:
    """Have granian's process and thread workers call the app through `callback_wrapper`."""
    for module in (mp, mt):
        module.__dict__["_wsgi_call_wrap"] = callback_wrapper
