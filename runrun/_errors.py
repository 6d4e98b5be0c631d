"""Why runrun refuses to start.

RunrunError
 ├── SourceError            main.py (or --source) is missing or fails to import
 ├── DuplicateTargetError   two targets share a name (functions-framework keys by bare name)
 ├── UnsupportedTargetError a target runrun cannot serve (an unknown or unservable type)
 ├── ConfigurationError     signature types or options that contradict the source
 └── HookRefusal            the source's library refused the start (its `check` hook raised)
"""

from __future__ import annotations


class RunrunError(Exception):
    """A configuration runrun cannot serve; the CLI prints it and exits 2."""

    exit_code = 2


class SourceError(RunrunError):
    """The source module is missing or raised while importing."""


class DuplicateTargetError(RunrunError):
    """Two functions register the same target name from different modules."""


class UnsupportedTargetError(RunrunError):
    """A target whose kind runrun does not mount (ASGI targets, unknown signature types)."""


class ConfigurationError(RunrunError):
    """Serving configuration that contradicts itself or the source: an unknown signature
    type, a type contradicting a decorator, a function that cannot take its type's
    arguments, an option naming no target."""


class HookRefusal(RunrunError):
    """The library the source uses refused the start: its `check` hook raised."""
