"""A target: one function of the source, served at `/<name>` as `--target <name>` names it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# The first path segment runrun keeps for itself (health, a library's routes); no target
# may take it.
RESERVED_SEGMENT = "_runrun"


@dataclass(frozen=True)
class Target:
    """One servable function: its route is `/<name>`, as `--target <name>` names it."""

    name: str
    function: Callable[..., Any]
    signature_type: str  # effective: from the decorator, else from configuration
    module: str  # where the function is defined (for errors)
    asgi: bool = False  # served as `functions-framework --asgi` serves it (@aio, async def)

    @property
    def route(self) -> str:
        return f"/{self.name}"


def duplicate_message(name: str, modules: list[str]) -> str:
    return (
        f"target {name!r} is defined in {' and '.join(modules)}: functions-framework keys "
        "targets by bare function name, so one would silently replace the other. "
        "Rename one of them."
    )
