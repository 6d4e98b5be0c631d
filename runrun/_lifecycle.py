"""Calling a library's hooks (`runrun.hooks`): each method only if the library has it.

`check` runs in the serving process before any worker starts; whatever it raises refuses the
start in one line (`HookRefusal`, exit 2). `worker_started` runs in each worker before its
first request and `worker_stopping` after its last: nothing here runs them in a pre-fork
master, so every client, connection and thread they make belongs to the worker that made it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ._errors import HookRefusal, UnsupportedTargetError

log = logging.getLogger("runrun.server")

# The library's routes are mounted under /_runrun/<name>; these names are runrun's own.
OWN_ROUTES = ("health",)


def _method(hooks: Any, name: str) -> Any:
    return getattr(hooks, name, None) if hooks is not None else None


def check(hooks: Any, served: Sequence[str], defined: Sequence[str]) -> None:
    """The library's `check`; anything it raises becomes a one-line refusal."""
    method = _method(hooks, "check")
    if method is None:
        return
    try:
        method(tuple(served), tuple(defined))
    except Exception as exc:  # noqa: BLE001 - the library's own refusal, whatever its class
        raise HookRefusal(str(exc) or type(exc).__name__) from exc


def routes(hooks: Any, served: Sequence[str]) -> dict[str, Any]:
    """The library's extra WSGI apps by name (mounted at `/_runrun/<name>`)."""
    method = _method(hooks, "routes")
    found: Mapping[str, Any] = method(tuple(served)) if method is not None else {}
    for name in found:
        if name in OWN_ROUTES or not name or "/" in name:
            raise UnsupportedTargetError(
                f"the library's route {name!r} cannot be mounted at /_runrun/{name}"
            )
    return dict(found)


class _Worker:
    """The hooks this worker process started with: its stop hook is theirs."""

    hooks: Any = None


def worker_started(hooks: Any) -> None:
    """The library's `worker_started`, in this worker before its first request."""
    _Worker.hooks = hooks
    method = _method(hooks, "worker_started")
    if method is not None:
        method()


def worker_stopping(timeout: float = 5.0) -> None:
    """The `worker_stopping` of the hooks this worker started with, after its last request;
    a failure is logged, never turned into a crash at shutdown."""
    hooks, _Worker.hooks = _Worker.hooks, None
    method = _method(hooks, "worker_stopping")
    if method is None:
        return
    try:
        method(timeout)
    except Exception:  # noqa: BLE001 - a failing hook must not make a clean stop a crash
        log.exception("the library's worker_stopping hook failed")
