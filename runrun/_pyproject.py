"""The `[tool.runrun]` table of the pyproject.toml beside the source file.

    [tool.runrun]
    targets = ["hello_get", "hello_http"]      # undecorated functions to serve

    [tool.runrun.signature-types]
    hello_pubsub = "event"                      # also names hello_pubsub as a target

Read once per source; a malformed file or table is refused with one line naming it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import ConfigurationError


@dataclass(frozen=True)
class RunrunTable:
    """What the pyproject.toml beside a source says to runrun."""

    path: Path
    targets: tuple[str, ...] = ()
    signature_types: dict[str, Any] = field(default_factory=dict)

    @property
    def where_targets(self) -> str:
        return f"{self.path} [tool.runrun] targets"

    @property
    def where_types(self) -> str:
        return f"{self.path} [tool.runrun.signature-types]"

    @classmethod
    def beside(cls, source: Path) -> RunrunTable:
        path = source.parent / "pyproject.toml"
        if not path.is_file():
            return cls(path)
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"{path} cannot be read: {exc}") from None
        table = data.get("tool", {}).get("runrun", {})
        if not isinstance(table, dict):
            raise ConfigurationError(f"{path}: [tool.runrun] must be a table")
        types = table.get("signature-types", {})
        if not isinstance(types, dict):
            raise ConfigurationError(f"{path}: [tool.runrun.signature-types] must be a table")
        targets = table.get("targets", [])
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            raise ConfigurationError(
                f"{path}: [tool.runrun] targets must be a list of function names, got {targets!r}"
            )
        return cls(path, tuple(targets), types)
