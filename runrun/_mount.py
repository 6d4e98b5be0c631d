"""One Flask app per target, configured exactly as functions-framework's `create_app` does,
but around the already-imported function (so the source module is never executed again).

What `create_app` does, and where it happens here:
- `flask.Flask(target, template_folder=<source dir>/templates)`            -> `target_app`
- the 500 handler answering `X-Google-Status: crash`                       -> `crash_handler`
- `functions_framework.errorhandler` registrations made by the module        -> `ErrorHandlers`
- `execution_id.WsgiMiddleware` (Function-Execution-Id on every request)   -> same middleware
- routes, return-value conversion, CloudEvent parsing and conversion       -> `_configure_app`
- LOG_EXECUTION_ID=true logging configuration                              -> `configure_logging`
Not reproduced: the legacy Python 3.7 `ENTRY_POINT` mode and ASGI (`@aio`) targets.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import flask
import functions_framework as _functions_framework
from functions_framework import execution_id as _execution_id

from ._discover import Discovery, Target
from ._dispatch import TargetDispatcher
from ._inspect import make_inspector

# functions-framework ships no annotations: use it as the untyped module it is.
functions_framework: Any = _functions_framework
execution_id: Any = _execution_id
_logging_configured = threading.Event()


def configure_logging() -> None:
    """functions-framework's execution-id logging setup, done once per process."""
    if _logging_configured.is_set():
        return
    if functions_framework._enable_execution_id_logging():
        functions_framework._configure_app_execution_id_logging()
    _logging_configured.set()


def target_app(discovery: Discovery, target: Target) -> flask.Flask:
    """The app `functions-framework --target <target.name>` would serve at `/`."""
    configure_logging()
    template_folder = str(Path(discovery.source).parent / "templates")
    app = flask.Flask(target.name, template_folder=template_folder)
    app.register_error_handler(500, functions_framework.crash_handler)
    discovery.errorhandlers.attach(app)
    # create_app wraps before configuring routes; either order yields the same app.
    app.wsgi_app = execution_id.WsgiMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    functions_framework._configure_app(app, target.function, target.signature_type)
    return app


def target_apps(discovery: Discovery) -> dict[str, flask.Flask]:
    """Every target's app, by target name."""
    return {target.name: target_app(discovery, target) for target in discovery.targets}


def build_app(discovery: Discovery) -> TargetDispatcher:
    """The one WSGI app serving every target of `discovery` at `/<name>`."""
    inspector = make_inspector(discovery.targets)
    return TargetDispatcher(discovery.targets, target_apps(discovery), inspector)
