"""Async targets (`functions_framework.aio`, `async def`) inside the WSGI server.

Each one gets the Starlette app `functions-framework --asgi` builds for it (functions-
framework's own routes, execution-id middleware and crash answer), run by a2wsgi's
ASGI-to-WSGI adapter: one event loop thread per worker process, which the WSGI request
threads hand their requests to. Synchronous targets stay on the server's native WSGI path;
the alternative, granian's ASGI interface with every WSGI app adapted, cost the synchronous
targets far more than this costs the async ones (figures in docs/parity.md, "Async targets").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ._discover import Target
from ._errors import UnsupportedTargetError

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


# The scope key (and environ key) holding the mount the request came through.
MOUNT_KEY = "runrun.mount"


class _Unmounted:
    """The ASGI app, with the mount the WSGI side moved out of the path in `MOUNT_KEY`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        environ = scope.get("wsgi_environ")
        if environ is not None and MOUNT_KEY in environ:
            scope = {**scope, MOUNT_KEY: environ[MOUNT_KEY]}
        await self.app(scope, receive, send)


class AsgiInWsgi:
    """A WSGI app running `asgi_app`; the loop thread starts in the serving process (a
    thread started in a pre-fork master would not exist in the workers)."""

    def __init__(self, asgi_app: Any) -> None:
        self.asgi_app = asgi_app
        self._adapter: Any = None
        self._pid = 0
        self._lock = threading.Lock()

    def _adapted(self) -> Any:
        if self._pid != os.getpid():
            with self._lock:
                if self._pid != os.getpid():
                    from a2wsgi import ASGIMiddleware

                    self._adapter = ASGIMiddleware(_Unmounted(self.asgi_app))
                    self._pid = os.getpid()
        return self._adapter

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # As at `/` under functions-framework: the scope's root_path empty, its path the rest.
        environ[MOUNT_KEY] = environ.get("SCRIPT_NAME", "")
        environ["SCRIPT_NAME"] = ""
        chunks: Iterator[bytes] = iter(self._adapted()(environ, start_response))
        # a2wsgi calls start_response only once its body is iterated (PEP 3333 allows it);
        # granian takes the status and headers as soon as the app returns, so the first
        # chunk is pulled here, which makes the ASGI app start its response.
        try:
            first = next(chunks)
        except StopIteration:
            return []
        return _Started(first, chunks)


class _Started:
    """The body: the chunk already pulled, then the rest; closing reaches a2wsgi."""

    def __init__(self, first: bytes, rest: Iterator[bytes]) -> None:
        self.first, self.rest = first, rest

    def __iter__(self) -> Iterator[bytes]:
        yield self.first
        yield from self.rest

    def close(self) -> None:
        close = getattr(self.rest, "close", None)
        if close is not None:
            close()


def asgi_target_app(target: Target) -> AsgiInWsgi:
    """What `functions-framework --asgi --target <name>` serves, as a WSGI app."""
    import functions_framework as _functions_framework
    from functions_framework import aio as _aio
    from functions_framework.exceptions import FunctionsFrameworkException

    aio: Any = _aio
    functions_framework: Any = _functions_framework
    try:
        app = aio._create_asgi_app_with_function(
            target.function,
            target.signature_type,
            functions_framework._enable_execution_id_logging(),
        )
    except FunctionsFrameworkException as exc:
        raise UnsupportedTargetError(f"{target.name!r}: {exc}") from None
    return AsgiInWsgi(app)
