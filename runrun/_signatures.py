"""Each target's signature type: from its decorator, else from configuration.

functions-framework takes the type of the one function it serves from, in order: the
decorator, `--signature-type`, FUNCTION_SIGNATURE_TYPE, else `http`. One process serving
many undecorated functions needs a type per function, so the configuration here is, in order:

1. `--signature-type NAME=TYPE` (repeatable) on `python -m runrun serve`;
2. the `[tool.runrun.signature-types]` table (`NAME = "TYPE"`) of the pyproject.toml beside
   the source file;
3. the default for undecorated functions: a bare `--signature-type TYPE`, else
   FUNCTION_SIGNATURE_TYPE, else `http` (functions-framework's own default).

Naming a function in 1. or 2. also makes it a target (`_select`). A configured type that
contradicts a decorator, an unknown type or a name that is no function of the source is
refused, and so is `typed` for an undecorated function: functions-framework takes the input
type from `@functions_framework.typed` alone, and answers every request to such a function
500. So is a function whose parameters cannot take its type's arguments, e.g. a
first-generation background function `(data, context)` left to the `http` default: served
as HTTP it would answer every event with a crash.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._env import FrameworkEnv
from ._errors import ConfigurationError
from ._pyproject import RunrunTable

HTTP, EVENT, CLOUDEVENT, TYPED = "http", "event", "cloudevent", "typed"
SIGNATURE_TYPES = (HTTP, EVENT, CLOUDEVENT, TYPED)
# How many positional arguments functions-framework passes a function of each type.
_ARGUMENTS = {HTTP: 1, EVENT: 2, CLOUDEVENT: 1, TYPED: 1}
_HOW_TO_DECLARE = (
    'declare it with `--signature-type {name}=TYPE`, a `{name} = "TYPE"` line in the '
    "[tool.runrun.signature-types] table of pyproject.toml, or a functions_framework decorator"
)


def check_type(value: str, where: str) -> str:
    if value not in SIGNATURE_TYPES:
        raise ConfigurationError(
            f"unknown signature type {value!r} in {where}: use one of {', '.join(SIGNATURE_TYPES)}"
        )
    return value


@dataclass(frozen=True)
class SignatureConfig:
    """Signature types for undecorated functions, by name, with their origin for errors."""

    by_name: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (type, where)
    default: str | None = None  # the undecorated default, None: `http` (not configured)
    default_origin: str = ""

    @classmethod
    def load(
        cls, source: Path, flags: Iterable[str] = (), table: RunrunTable | None = None
    ) -> SignatureConfig:
        """Read pyproject.toml beside `source` (or `table`, read already),
        FUNCTION_SIGNATURE_TYPE and the CLI flags."""
        by_name: dict[str, tuple[str, str]] = {}
        table = table or RunrunTable.beside(source)
        for name, value in table.signature_types.items():
            where = table.where_types
            if not isinstance(value, str):
                raise ConfigurationError(f"{where}: {name} must be a string, got {value!r}")
            by_name[name] = (check_type(value, where), where)
        default, origin = None, ""
        env = FrameworkEnv.from_env().signature_type
        if env:
            default, origin = check_type(env, "FUNCTION_SIGNATURE_TYPE"), "FUNCTION_SIGNATURE_TYPE"
        for flag in flags:
            name, sep, value = flag.rpartition("=")
            where = f"--signature-type {flag}"
            if not sep:
                default, origin = check_type(value, where), where
            elif not name:
                raise ConfigurationError(f"{where}: expected NAME=TYPE or TYPE")
            else:
                by_name[name] = (check_type(value, where), where)
        return cls(by_name, default, origin)

    def resolve(self, name: str, function: Callable[..., Any], decorated: str | None) -> str | None:
        """The signature type `name` is served with, or a ConfigurationError saying why not.

        None: an undecorated, unconfigured function that no signature type can call (a
        helper such as `def merge(a, b, c)`): not a target."""
        configured = self.by_name.get(name)
        if decorated is not None:
            if configured is not None and configured[0] != decorated:
                raise ConfigurationError(
                    f"{configured[1]} says {name!r} is {configured[0]!r}, but its decorator "
                    f"registers it as {decorated!r}: remove one of them"
                )
            return decorated
        if configured is not None:
            signature_type, where = configured
        elif self.default is not None:
            signature_type, where = self.default, self.default_origin
        else:
            signature_type, where = HTTP, ""
        if signature_type == TYPED:
            # functions-framework learns a typed function's input type only from the decorator
            # (`INPUT_TYPE_MAP`); served undecorated, every request would answer 500 there.
            origin = f" (from {where})" if where else ""
            raise ConfigurationError(
                f"{name} has signature type {TYPED!r}{origin} but is not decorated: "
                "functions-framework takes a typed function's input type only from "
                "@functions_framework.typed, so every request would crash; decorate it"
            )
        if not takes(function, _ARGUMENTS[signature_type]):
            params = _parameters(function)
            if not where and not any(takes(function, n) for n in set(_ARGUMENTS.values())):
                return None
            if not where and takes(function, _ARGUMENTS[EVENT]):
                raise ConfigurationError(
                    f"{name}{params} takes (data, context): it looks like a background "
                    f"(event) function, not HTTP; {_HOW_TO_DECLARE.format(name=name)}"
                )
            reason = f" (from {where})" if where else " (the default)"
            raise ConfigurationError(
                f"{name}{params} cannot be called as a {signature_type!r} function{reason}, "
                f"which passes {_ARGUMENTS[signature_type]} argument(s); "
                + _HOW_TO_DECLARE.format(name=name)
            )
        return signature_type


def _parameters(function: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(function))
    except (TypeError, ValueError):
        return "(...)"


def takes(function: Callable[..., Any], count: int) -> bool:
    """Whether `function` can be called with `count` positional arguments."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return True  # cannot tell: leave it to functions-framework, as it would be
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True
