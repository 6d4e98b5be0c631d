"""Import the source module (main.py) once per process and collect its targets.

functions-framework's `create_app` executes the source module on every call and keys its
registry by bare function name (`REGISTRY_MAP`), so it cannot be called once per target.
Here the module is executed exactly once, with the `http` / `cloud_event` decorators and
`functions_framework.errorhandler` observed while it runs: every registration is seen,
two modules registering one name are refused, and `errorhandler` registrations are kept to
be applied to every target's app (under functions-framework each target's app receives all
of them, since the whole module runs inside that app's creation).
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask
import functions_framework as _functions_framework
from functions_framework import _function_registry as _registry

from shared._config import function_source

from ._errors import DuplicateTargetError, SourceError, UnsupportedTargetError

# functions-framework ships no annotations: use it as the untyped module it is.
functions_framework: Any = _functions_framework
_function_registry: Any = _registry

HTTP = _function_registry.HTTP_SIGNATURE_TYPE
CLOUDEVENT = _function_registry.CLOUDEVENT_SIGNATURE_TYPE
EVENT = _function_registry.BACKGROUNDEVENT_SIGNATURE_TYPE
TYPED = _function_registry.TYPED_SIGNATURE_TYPE
# The first path segment runrun keeps for itself (health); no target may take it.
RESERVED_SEGMENT = "_runrun"


@dataclass(frozen=True)
class Target:
    """One servable function: its route is `/<name>`, as `--target <name>` names it."""

    name: str
    function: Callable[..., Any]
    signature_type: str
    module: str  # where the function is defined (for errors and provider lookup)

    @property
    def route(self) -> str:
        return f"/{self.name}"


class ErrorHandlers:
    """Stands in for `functions_framework.errorhandler`: keeps every registration and
    applies it to each target app, including apps built after the registration."""

    def __init__(self) -> None:
        self.registrations: list[tuple[Any, Callable[..., Any]]] = []
        self._apps: list[flask.Flask] = []
        self._lock = threading.Lock()

    def __call__(self, code_or_exception: Any) -> Callable[[Callable[..., Any]], Any]:
        def decorator(handler: Callable[..., Any]) -> Callable[..., Any]:
            with self._lock:
                self.registrations.append((code_or_exception, handler))
                for app in self._apps:
                    app.register_error_handler(code_or_exception, handler)
            return handler

        return decorator

    def attach(self, app: flask.Flask) -> None:
        with self._lock:
            self._apps.append(app)
            for code_or_exception, handler in self.registrations:
                app.register_error_handler(code_or_exception, handler)


@dataclass
class Discovery:
    """The imported source module and the targets it defines."""

    source: Path
    module: types.ModuleType
    targets: tuple[Target, ...]
    errorhandlers: ErrorHandlers = field(default_factory=ErrorHandlers)

    def target(self, name: str) -> Target:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


_cache: dict[Path, Discovery] = {}
_cache_lock = threading.Lock()
# Per source file and for the life of the process: a module imported once keeps the handlers
# it registered even when its targets are collected again.
_errorhandlers: dict[Path, ErrorHandlers] = {}


def default_source() -> Path:
    """`--source` as functions-framework resolves it: FUNCTION_SOURCE, else ./main.py."""
    return function_source()


def discover(source: str | os.PathLike[str] | None = None) -> Discovery:
    """Import `source` (once per process) and return its targets.

    Raises:
        SourceError: the file is missing or raised while importing.
        DuplicateTargetError: two functions claim one target name.
        UnsupportedTargetError: a target runrun cannot mount.
    """
    path = Path(os.path.realpath(source or default_source()))
    with _cache_lock:
        cached = _cache.get(path)
        if cached is not None:
            return cached
        if not path.is_file():
            raise SourceError(f"{path} does not exist: pass --source or set FUNCTION_SOURCE")
        errorhandlers = _errorhandlers.setdefault(path, ErrorHandlers())
        module = _import_once(path, errorhandlers)
        discovery = Discovery(path, module, _collect(module), errorhandlers)
        _cache[path] = discovery
        return discovery


def _import_once(path: Path, errorhandlers: ErrorHandlers) -> types.ModuleType:
    name = path.stem
    loaded = sys.modules.get(name)
    registered = Registered()
    if loaded is not None and _same_file(getattr(loaded, "__file__", None), path):
        # Already imported: not again. Its errorhandler registrations are known only if
        # runrun imported it (as `python -m runrun serve` always does).
        return loaded
    # Exactly as functions-framework loads it: named by the file stem, its folder on sys.path.
    module, spec = _function_registry.load_function_module(str(path))
    previous = functions_framework.errorhandler
    functions_framework.errorhandler = errorhandlers
    try:
        with registered.observing():
            spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise SourceError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        # functions-framework rebinds it to the last app it creates; leaving ours in place
        # would only matter to code that creates functions-framework apps in this process.
        functions_framework.errorhandler = previous
    registered.check()
    result: types.ModuleType = module
    return result


def _same_file(file: str | None, path: Path) -> bool:
    return file is not None and os.path.realpath(file) == str(path)


class Registered:
    """Which module registered which target name, seen through the decorators."""

    _DECORATORS = ("http", "cloud_event")

    def __init__(self) -> None:
        self.modules: dict[str, set[str]] = {}

    @contextmanager
    def observing(self) -> Iterator[None]:
        originals = {name: getattr(functions_framework, name) for name in self._DECORATORS}

        def observed(original: Callable[..., Any]) -> Callable[..., Any]:
            def decorator(func: Callable[..., Any]) -> Any:
                self.modules.setdefault(func.__name__, set()).add(func.__module__)
                return original(func)

            return decorator

        for name, original in originals.items():
            setattr(functions_framework, name, observed(original))
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(functions_framework, name, original)

    def check(self) -> None:
        for name, modules in sorted(self.modules.items()):
            if len(modules) > 1:
                raise DuplicateTargetError(_duplicate_message(name, sorted(modules)))


def _duplicate_message(name: str, modules: list[str]) -> str:
    return (
        f"target {name!r} is defined in {' and '.join(modules)}: functions-framework keys "
        "targets by bare function name, so one would silently replace the other. "
        "Rename one of them."
    )


def _exported(module: types.ModuleType) -> Iterator[tuple[str, Any, bool]]:
    """(name, object, listed in __all__) for each public attribute of the module."""
    listed = getattr(module, "__all__", None)
    if listed is not None:
        for name in listed:
            yield name, getattr(module, name, None), True
        return
    for name, value in vars(module).items():
        if not name.startswith("_"):
            yield name, value, False


def _collect(module: types.ModuleType) -> tuple[Target, ...]:
    registry = _function_registry.REGISTRY_MAP
    targets: list[Target] = []
    by_function_name: dict[str, Target] = {}
    for name, value, listed in _exported(module):
        if not isinstance(value, types.FunctionType):
            continue  # functions-framework only accepts plain functions as targets
        defined_in = value.__module__
        if not listed and name not in registry and defined_in != module.__name__:
            continue  # an imported helper, not a target
        if name == RESERVED_SEGMENT:
            raise UnsupportedTargetError(f"{name!r} is reserved for runrun's own routes")
        if name in _function_registry.ASGI_FUNCTIONS:
            raise UnsupportedTargetError(f"{name!r} is an ASGI (@aio) target: runrun serves WSGI")
        if value.__name__ != name and value.__name__ in registry:
            # functions-framework looks the signature type up by target name, so an alias
            # of a decorated function would silently become an HTTP target.
            raise UnsupportedTargetError(
                f"{name!r} is {defined_in}.{value.__name__} under another name: "
                "export it under its own name"
            )
        earlier = by_function_name.get(value.__name__)
        if earlier is not None and earlier.module != defined_in:
            raise DuplicateTargetError(
                _duplicate_message(value.__name__, sorted({earlier.module, defined_in}))
            )
        signature_type = registry.get(name, HTTP)
        if signature_type not in (HTTP, CLOUDEVENT, EVENT, TYPED):
            raise UnsupportedTargetError(f"{name!r} has unknown signature type {signature_type!r}")
        target = Target(name, value, signature_type, defined_in)
        by_function_name[value.__name__] = target
        targets.append(target)
    return tuple(sorted(targets, key=lambda target: target.name))
