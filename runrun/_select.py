"""Which functions of the source are targets: exactly what Cloud Functions would expose.

Cloud Functions serves the one entry point named at deploy, whatever else the module holds.
So here:

- a function registered by a functions-framework decorator (`http`, `cloud_event`, `typed`,
  `aio.http`, `aio.cloud_event`) is a target;
- an undecorated function is a target only when it is named: `--target NAME` (repeatable)
  or FUNCTION_TARGET, the `[tool.runrun] targets` list or the `[tool.runrun.signature-types]`
  table of the pyproject.toml beside the source, or `--signature-type NAME=TYPE`;
- every other function is left alone, whatever its arguments: never a route, never a
  refusal. `runrun routes` lists those, each with the flag that would serve it.

`--target` (or FUNCTION_TARGET, as functions-framework reads it) also narrows what is served
to the names it gives.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from functions_framework import _function_registry as _registry

from ._errors import ConfigurationError, DuplicateTargetError, UnsupportedTargetError
from ._signatures import CLOUDEVENT, EVENT, HTTP, SIGNATURE_TYPES, SignatureConfig, takes
from ._target import RESERVED_SEGMENT, Target, duplicate_message

# functions-framework ships no annotations: use it as the untyped module it is.
_function_registry: Any = _registry


@dataclass(frozen=True)
class LeftAlone:
    """An undecorated function of the source that is not served, and how to serve it."""

    name: str
    parameters: str
    serve_with: str | None  # the flag that would serve it; None: no signature type can call it


@dataclass(frozen=True)
class Selection:
    targets: tuple[Target, ...]  # what is served
    defined: tuple[str, ...]  # every target of the source, whether served or not
    left_alone: tuple[LeftAlone, ...]


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


def _decorated(name: str, value: types.FunctionType) -> bool:
    registry = _function_registry.REGISTRY_MAP
    return name in registry or (value.__name__ != name and value.__name__ in registry)


def _own_functions(module: types.ModuleType) -> dict[str, types.FunctionType]:
    """The module's public functions: defined there, listed in `__all__`, or decorated."""
    found: dict[str, types.FunctionType] = {}
    for name, value, listed in _exported(module):
        if not isinstance(value, types.FunctionType):
            continue  # functions-framework only accepts plain functions as targets
        if listed or value.__module__ == module.__name__ or _decorated(name, value):
            found[name] = value
    return found


def _named_function(module: types.ModuleType, name: str, where: str) -> types.FunctionType:
    value = getattr(module, name, None)
    if not isinstance(value, types.FunctionType):
        found = "no such attribute" if value is None else f"a {type(value).__name__}"
        raise ConfigurationError(
            f"{where} names {name!r}, which is not a function of {module.__file__} ({found})"
        )
    return value


def select(
    module: types.ModuleType, config: SignatureConfig, only: tuple[str, ...], named: dict[str, str]
) -> Selection:
    """The targets of `module`. `only`: `--target` names (none: every target); `named`:
    undecorated functions named as targets elsewhere, each with where it was named."""
    own = _own_functions(module)
    chosen: dict[str, types.FunctionType] = {n: f for n, f in own.items() if _decorated(n, f)}
    for name, where in {**named, **{n: "--target" for n in only}}.items():
        chosen[name] = _named_function(module, name, where)
    targets: list[Target] = []
    by_function_name: dict[str, Target] = {}
    for name, value in sorted(chosen.items()):
        target = _target(name, value, config)
        earlier = by_function_name.get(value.__name__)
        if earlier is not None and earlier.module != target.module:
            names = sorted({earlier.module, target.module})
            raise DuplicateTargetError(duplicate_message(value.__name__, names))
        by_function_name[value.__name__] = target
        targets.append(target)
    served = tuple(t for t in targets if not only or t.name in only)
    left = tuple(
        _left_alone(name, value) for name, value in sorted(own.items()) if name not in chosen
    )
    return Selection(served, tuple(t.name for t in targets), left)


def _target(name: str, value: types.FunctionType, config: SignatureConfig) -> Target:
    registry = _function_registry.REGISTRY_MAP
    if name == RESERVED_SEGMENT:
        raise UnsupportedTargetError(f"{name!r} is reserved for runrun's own routes")
    if value.__name__ != name and value.__name__ in registry:
        # functions-framework looks the signature type up by target name, so an alias
        # of a decorated function would silently become an HTTP target.
        raise UnsupportedTargetError(
            f"{name!r} is {value.__module__}.{value.__name__} under another name: "
            "export it under its own name"
        )
    signature_type = config.resolve(name, value, registry.get(name))
    if signature_type is None:
        raise ConfigurationError(
            f"{name}{_parameters(value)} is named as a target, but no signature type can call "
            "it: an http or cloudevent function takes one argument, an event function two"
        )
    if signature_type not in SIGNATURE_TYPES:
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
    return Target(name, value, signature_type, value.__module__, asgi)


def _left_alone(name: str, value: types.FunctionType) -> LeftAlone:
    if takes(value, 1):
        serve_with: str | None = f"--signature-type {name}={HTTP} (or {CLOUDEVENT})"
    elif takes(value, 2):
        serve_with = f"--signature-type {name}={EVENT}"
    else:
        serve_with = None
    return LeftAlone(name, _parameters(value), serve_with)


def _parameters(function: types.FunctionType) -> str:
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"
