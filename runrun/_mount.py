"""One Flask app per target, configured exactly as functions-framework's `create_app` does,
but around the already-imported function (so the source module is never executed again).

What `create_app` does, and where it happens here:
- `flask.Flask(target, template_folder=<source dir>/templates)`            -> `target_app`
- the 500 handler answering `X-Google-Status: crash`                       -> `crash_handler`
- `functions_framework.errorhandler` registrations made by the module        -> `ErrorHandlers`
- `execution_id.WsgiMiddleware` (Function-Execution-Id on every request)   -> same middleware
- routes, return-value conversion, CloudEvent parsing and conversion       -> `_configure_app`
- LOG_EXECUTION_ID=true logging, ENTRY_POINT logging  -> `_process_setup`, before the import
- the module executed inside the app's context            -> the loader app (`_discover`),
                                                              whose config/extensions are copied
- ENTRY_POINT: `None` answered as "OK"                     -> `_answer_none_as_ok`
- gunicorn's THREADED_TIMEOUT_ENABLED request timeout      -> `_timeouts.with_timeout`
Async targets get functions-framework's own Starlette app (`functions-framework --asgi`),
run by `_asgi.AsgiInWsgi` inside the same WSGI server (the choice is measured in docs/parity.md).

A synchronous target's app is built by the first request that reaches it, in the process
serving it: werkzeug compiles every route as it is added, and building all of them is the
largest part of a cold start that answers one target first (docs/benchmarks.md). Whatever
can refuse a target (its signature type, its name, the process's logging set-up, Flask's
root path for its name) is still settled at start; the build itself reads only what start
already read.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask
import functions_framework as _functions_framework
from functions_framework import execution_id as _execution_id

from . import _lifecycle
from ._discover import Discovery, Target
from ._dispatch import TargetDispatcher
from ._errors import UnsupportedTargetError
from ._event_auth import protect_event_targets
from ._process_setup import configure_process_logging, legacy_mode
from ._timeouts import with_timeout

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# functions-framework ships no annotations: use it as the untyped module it is.
functions_framework: Any = _functions_framework
execution_id: Any = _execution_id


def configure_logging() -> None:
    """functions-framework's process-wide logging setup, done once per process."""
    configure_process_logging()


def target_app(discovery: Discovery, target: Target, root_path: str | None = None) -> flask.Flask:
    """The app `functions-framework --target <target.name>` would serve at `/`
    (`root_path`: Flask's, when already found for this name)."""
    configure_logging()
    template_folder = str(Path(discovery.source).parent / "templates")
    app = flask.Flask(target.name, template_folder=template_folder, root_path=root_path)
    if discovery.loader_app is not None:
        # Under functions-framework the module ran inside this very app's context.
        app.config.update(discovery.loader_app.config)
        app.extensions.update(discovery.loader_app.extensions)
    app.register_error_handler(500, functions_framework.crash_handler)
    discovery.errorhandlers.attach(app)
    if legacy_mode():
        _answer_none_as_ok(app)
    # create_app wraps before configuring routes; either order yields the same app.
    app.wsgi_app = execution_id.WsgiMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    functions_framework._configure_app(app, target.function, target.signature_type)
    return app


def _answer_none_as_ok(app: flask.Flask) -> None:
    """create_app's legacy ENTRY_POINT mode: a function returning None answers "OK"."""
    original = app.make_response

    def make_response(rv: Any) -> flask.Response:
        return original("OK" if rv is None else rv)

    app.make_response = make_response  # type: ignore[method-assign]


def _root_path(target: Target) -> str:
    """Flask's root path for an app named after the target, found as `flask.Flask` finds
    it; a name it cannot place (a namespace package's) is refused here, at start."""
    try:
        return str(flask.helpers.get_root_path(target.name))
    except RuntimeError as exc:
        raise UnsupportedTargetError(f"{target.name!r}: Flask cannot serve it: {exc}") from None


class BuiltOnFirstRequest:
    """A WSGI app built by the first request that calls it: once, whichever of the
    concurrent first requests gets there first, the others waiting for that one build."""

    def __init__(self, build: Callable[[], WSGIApplication]) -> None:
        self._build: Callable[[], WSGIApplication] | None = build
        self._app: WSGIApplication | None = None
        self._lock = threading.Lock()

    @property
    def app(self) -> WSGIApplication:
        app = self._app
        if app is None:
            with self._lock:
                if self._app is None:
                    assert self._build is not None
                    self._app = self._build()
                    self._build = None  # nothing else keeps what only the build needed
                app = self._app
        return app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return (self._app or self.app)(environ, start_response)


def target_apps(discovery: Discovery, timeout: float = 0) -> dict[str, Any]:
    """Every target's WSGI app, by target name (`timeout`: see `_timeouts`)."""
    configure_logging()  # process-wide and once, as at start under functions-framework
    apps: dict[str, Any] = {}
    for target in discovery.targets:
        if target.asgi:
            from ._asgi import asgi_target_app

            # Built now: functions-framework's ASGI app refuses what it cannot serve.
            apps[target.name] = asgi_target_app(target)
        else:
            apps[target.name] = BuiltOnFirstRequest(
                _builder(discovery, target, _root_path(target), timeout)
            )
    return protect_event_targets(discovery.targets, apps)


def _builder(
    discovery: Discovery, target: Target, root_path: str, timeout: float
) -> Callable[[], WSGIApplication]:
    return lambda: with_timeout(target_app(discovery, target, root_path), timeout)


def build_app(discovery: Discovery, timeout: float = 0) -> TargetDispatcher:
    """The one WSGI app serving every target of `discovery` at `/<name>`.

    `timeout` > 0: each synchronous target answers 500 once a request has run that many
    seconds, as functions-framework does with THREADED_TIMEOUT_ENABLED. The source's
    library may add routes under `/_runrun/` (`runrun.hooks`)."""
    hooks = discovery.hooks
    routes = _lifecycle.routes(hooks, [target.name for target in discovery.targets])
    return TargetDispatcher(discovery.targets, target_apps(discovery, timeout), routes, hooks)
