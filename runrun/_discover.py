"""Import the source module (main.py) once per process and collect its targets.

functions-framework's `create_app` executes the source module on every call and keys its
registry by bare function name (`REGISTRY_MAP`), so it cannot be called once per target.
Here the module is executed exactly once, with the `http` / `cloud_event` decorators and
`functions_framework.errorhandler` observed while it runs: every registration is seen,
two modules registering one name are refused, and `errorhandler` registrations are kept to
be applied to every target's app (under functions-framework each target's app receives all
of them, since the whole module runs inside that app's creation).

As under functions-framework, the module runs with logging already configured and inside a
Flask app context (the "loader" app, whose config and extensions every target app starts
from), so module-level `flask.current_app` works and `dictConfig` never disables its loggers.
Each target's signature type comes from its decorator or from configuration (`_signatures`).
"""

from __future__ import annotations

import inspect
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

from shared._serve_env import FrameworkEnv, function_source, set_env

from ._errors import ConfigurationError, DuplicateTargetError, SourceError, UnsupportedTargetError
from ._process import configure_process_logging, set_single_target_env
from ._signatures import SignatureConfig

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
    signature_type: str  # effective: from the decorator, else from configuration
    module: str  # where the function is defined (for errors and provider lookup)
    asgi: bool = False  # served as `functions-framework --asgi` serves it (@aio, async def)

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
    # The app the module was executed in: what it stored in `current_app` at import.
    loader_app: flask.Flask | None = None

    def target(self, name: str) -> Target:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


_cache: dict[tuple[Path, tuple[str, ...], tuple[str, ...], str], Discovery] = {}
_cache_lock = threading.Lock()
# Per source file and for the life of the process: a module imported once keeps the handlers
# it registered and the app it ran in even when its targets are collected again.
_errorhandlers: dict[Path, ErrorHandlers] = {}
_loader_apps: dict[Path, flask.Flask] = {}


def default_source() -> Path:
    """`--source` as functions-framework resolves it: FUNCTION_SOURCE, else ./main.py."""
    return function_source()


def discover(
    source: str | os.PathLike[str] | None = None,
    signature_types: tuple[str, ...] = (),
    only: tuple[str, ...] = (),
) -> Discovery:
    """Import `source` (once per process) and return its targets.

    `signature_types`: `--signature-type` values (`NAME=TYPE` or a bare default `TYPE`);
    `only`: serve just these targets (`--target`), none: every target.

    Raises:
        SourceError: the file is missing or raised while importing.
        DuplicateTargetError: two functions claim one target name.
        UnsupportedTargetError: a target runrun cannot mount.
        ConfigurationError: a signature type or target name that contradicts the source.
    """
    path = Path(os.path.realpath(source or default_source()))
    key = (path, tuple(signature_types), tuple(only), FrameworkEnv.from_env().signature_type)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        if not path.is_file():
            raise SourceError(f"{path} does not exist: pass --source or set FUNCTION_SOURCE")
        config = SignatureConfig.load(path, signature_types)
        if len(only) == 1:
            # functions-framework sets it before the module runs: a module may read it.
            set_env({"FUNCTION_TARGET": only[0]})
        errorhandlers = _errorhandlers.setdefault(path, ErrorHandlers())
        loader_app = _loader_apps.setdefault(path, flask.Flask(path.stem))
        module = _import_once(path, errorhandlers, loader_app)
        targets = _collect(module, config, only)
        discovery = Discovery(path, module, targets, errorhandlers, loader_app)
        _cache[key] = discovery
        if len(targets) == 1:
            set_single_target_env(targets[0].name, targets[0].signature_type)
            _cache[(*key[:3], FrameworkEnv.from_env().signature_type)] = discovery
        return discovery


def _import_once(
    path: Path, errorhandlers: ErrorHandlers, loader_app: flask.Flask
) -> types.ModuleType:
    name = path.stem
    loaded = sys.modules.get(name)
    registered = Registered()
    if loaded is not None and _same_file(getattr(loaded, "__file__", None), path):
        # Already imported: not again. Its errorhandler registrations are known only if
        # runrun imported it (as `python -m runrun serve` always does).
        return loaded
    # Exactly as functions-framework loads it: named by the file stem, its folder on sys.path.
    module, spec = _function_registry.load_function_module(str(path))
    # Before the module runs, as create_app does: its dictConfig would otherwise disable
    # every logger the module has created by then.
    configure_process_logging()
    previous = functions_framework.errorhandler
    functions_framework.errorhandler = errorhandlers
    try:
        with registered.observing(), loader_app.app_context():
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
    """Which module registered which target name, seen through the synchronous decorators,
    which functions-framework keys by bare function name. (The `aio` ones are not observed:
    patching them would import Starlette into every source's start.)"""

    _DECORATORS = ("http", "cloud_event", "typed")

    def __init__(self) -> None:
        self.modules: dict[str, set[str]] = {}

    def _record(self, func: Callable[..., Any]) -> None:
        self.modules.setdefault(func.__name__, set()).add(func.__module__)

    def _observed(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def decorator(*args: Any, **kwargs: Any) -> Any:
            if len(args) == 1 and not kwargs and inspect.isfunction(args[0]):
                self._record(args[0])
                return original(*args)
            # A decorator factory (`@typed(InputType)`): observe the function it gets.
            inner = original(*args, **kwargs)

            def observed_inner(func: Callable[..., Any]) -> Any:
                self._record(func)
                return inner(func)

            return observed_inner

        return decorator

    @contextmanager
    def observing(self) -> Iterator[None]:
        originals = {name: getattr(functions_framework, name) for name in self._DECORATORS}
        for name, original in originals.items():
            setattr(functions_framework, name, self._observed(original))
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


def _collect(
    module: types.ModuleType, config: SignatureConfig, only: tuple[str, ...]
) -> tuple[Target, ...]:
    registry = _function_registry.REGISTRY_MAP
    targets: list[Target] = []
    by_function_name: dict[str, Target] = {}
    candidates: set[str] = set()
    for name, value, listed in _exported(module):
        if not isinstance(value, types.FunctionType):
            continue  # functions-framework only accepts plain functions as targets
        defined_in = value.__module__
        if not listed and name not in registry and defined_in != module.__name__:
            continue  # an imported helper, not a target
        candidates.add(name)
        if only and name not in only:
            continue
        if name == RESERVED_SEGMENT:
            raise UnsupportedTargetError(f"{name!r} is reserved for runrun's own routes")
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
        signature_type = config.resolve(name, value, registry.get(name))
        if signature_type is None:
            continue  # a helper no signature type can call
        if signature_type not in (HTTP, CLOUDEVENT, EVENT, TYPED):
            raise UnsupportedTargetError(f"{name!r} has unknown signature type {signature_type!r}")
        # `functions-framework --asgi` serves @aio functions and coroutine functions alike.
        asgi = name in _function_registry.ASGI_FUNCTIONS or (
            name not in registry and inspect.iscoroutinefunction(value)
        )
        if asgi and signature_type not in (HTTP, CLOUDEVENT):
            raise UnsupportedTargetError(
                f"{name!r} is async (ASGI) with signature type {signature_type!r}: "
                "functions-framework's ASGI server serves only 'http' and 'cloudevent'"
            )
        target = Target(name, value, signature_type, defined_in, asgi)
        by_function_name[value.__name__] = target
        targets.append(target)
    missing = sorted(set(only) - candidates)
    if missing:
        raise ConfigurationError(
            f"--target {', '.join(missing)}: no such target in {module.__file__} "
            f"(targets: {', '.join(sorted(candidates)) or 'none'})"
        )
    config.check_names(candidates)
    return tuple(sorted(targets, key=lambda target: target.name))
