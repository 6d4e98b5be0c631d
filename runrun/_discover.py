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
Which functions are targets is `_select`'s; each target's signature type comes from its
decorator or from configuration (`_signatures`). A library's hooks (`runrun.hooks`) are the
module's `runrun_hooks` attribute, read here and nowhere else.
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

from ._env import FrameworkEnv, function_source, set_env
from ._errors import DuplicateTargetError, SourceError
from ._process_setup import configure_process_logging, set_single_target_env
from ._pyproject import RunrunTable
from ._select import LeftAlone, select
from ._signatures import SignatureConfig
from ._target import RESERVED_SEGMENT as RESERVED_SEGMENT
from ._target import Target as Target
from ._target import duplicate_message
from .hooks import HOOKS_ATTRIBUTE

# functions-framework ships no annotations: use it as the untyped module it is.
functions_framework: Any = _functions_framework
_function_registry: Any = _registry

HTTP = _function_registry.HTTP_SIGNATURE_TYPE
CLOUDEVENT = _function_registry.CLOUDEVENT_SIGNATURE_TYPE
EVENT = _function_registry.BACKGROUNDEVENT_SIGNATURE_TYPE
TYPED = _function_registry.TYPED_SIGNATURE_TYPE


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
    # Every target the source defines (`targets` are those served: fewer under --target).
    defined: tuple[str, ...] = ()
    # Undecorated functions not named as targets: never served (`runrun routes` lists them).
    left_alone: tuple[LeftAlone, ...] = ()

    @property
    def hooks(self) -> Any:
        """The library hooks the source module binds (`runrun.hooks`), or None."""
        return getattr(self.module, HOOKS_ATTRIBUTE, None)

    def target(self, name: str) -> Target:
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)


_cache: dict[tuple[Path, tuple[str, ...], tuple[str, ...], str, str], Discovery] = {}
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
    `only`: serve just these targets (`--target`; none: FUNCTION_TARGET, else every target).

    Raises:
        SourceError: the file is missing or raised while importing.
        DuplicateTargetError: two functions claim one target name.
        UnsupportedTargetError: a target runrun cannot mount.
        ConfigurationError: a signature type or target name that contradicts the source.
    """
    path = Path(os.path.realpath(source or default_source()))
    framework = FrameworkEnv.from_env()
    key = (path, tuple(signature_types), tuple(only), framework.signature_type, framework.target)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            return cached
        if not path.is_file():
            raise SourceError(f"{path} does not exist: pass --source or set FUNCTION_SOURCE")
        table = RunrunTable.beside(path)
        config = SignatureConfig.load(path, signature_types, table)
        # functions-framework serves FUNCTION_TARGET when no --target is given.
        only = tuple(only) or ((framework.target,) if framework.target else ())
        if len(only) == 1:
            # functions-framework sets it before the module runs: a module may read it.
            set_env({"FUNCTION_TARGET": only[0]})
        errorhandlers = _errorhandlers.setdefault(path, ErrorHandlers())
        loader_app = _loader_apps.setdefault(path, flask.Flask(path.stem))
        module = _import_once(path, errorhandlers, loader_app)
        named = {name: table.where_targets for name in table.targets}
        named.update({name: where for name, (_, where) in config.by_name.items()})
        chosen = select(module, config, only, named)
        discovery = Discovery(
            path,
            module,
            chosen.targets,
            errorhandlers,
            loader_app,
            chosen.defined,
            chosen.left_alone,
        )
        _cache[key] = discovery
        if len(chosen.targets) == 1:
            set_single_target_env(chosen.targets[0].name, chosen.targets[0].signature_type)
            after = FrameworkEnv.from_env()
            _cache[(*key[:3], after.signature_type, after.target)] = discovery
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
                raise DuplicateTargetError(duplicate_message(name, sorted(modules)))
