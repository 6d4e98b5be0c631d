"""functions-framework's request timeout, per target.

Under functions-framework, gunicorn runs each request inside `ThreadingTimeout` when
CLOUD_RUN_TIMEOUT_SECONDS > 0, THREADED_TIMEOUT_ENABLED=true and THREADS > 1: past the
timeout a `RequestTimeoutException` is raised in the request's thread, which Flask answers
500 with `X-Google-Status: crash`. Here the same class wraps each synchronous target's app,
so the timeout holds under granian as under gunicorn. Without THREADED_TIMEOUT_ENABLED,
functions-framework's timeout is only gunicorn's worker timeout, which a threaded worker
never hits for a slow request: runrun does nothing either (Cloud Run enforces its own).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from functions_framework import request_timeout as _request_timeout

from ._env import FrameworkEnv

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# functions-framework ships no annotations: use it as the untyped module it is.
request_timeout: Any = _request_timeout


def timeout_from_env(threads: int) -> float:
    """The per-request timeout functions-framework would apply with `threads` threads."""
    env = FrameworkEnv.from_env()
    seconds, enabled = env.timeout_seconds, env.threaded_timeout
    return float(seconds) if seconds > 0 and threads > 1 and enabled else 0.0


class _WithTimeout:
    def __init__(self, app: WSGIApplication, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with request_timeout.ThreadingTimeout(self.seconds):
            return self.app(environ, start_response)


def with_timeout(app: WSGIApplication, seconds: float) -> WSGIApplication:
    """`app`, answering 500 past `seconds` (0: no timeout)."""
    return _WithTimeout(app, seconds) if seconds > 0 else app
