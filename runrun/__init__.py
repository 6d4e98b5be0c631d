"""runrun: every functions-framework target of main.py in one Cloud Run container.

`runrun serve` serves each target at `/<name>` exactly as `functions-framework --target
<name>` serves it at `/`; `routes`, `deploy-plan` and `cloudbuild` describe and deploy the
same targets. `runrun.hooks` is what a library may hand the server.
"""

import typing as _typing

if _typing.TYPE_CHECKING:
    from . import deploy as deploy
    from . import hooks as hooks
    from ._discover import Discovery as Discovery
    from ._discover import Target as Target
    from ._discover import discover as discover
    from ._dispatch import HEALTH_PATH as HEALTH_PATH
    from ._dispatch import TargetDispatcher as TargetDispatcher
    from ._errors import DuplicateTargetError as DuplicateTargetError
    from ._errors import RunrunError as RunrunError
    from ._errors import SourceError as SourceError
    from ._errors import UnsupportedTargetError as UnsupportedTargetError
    from ._mount import build_app as build_app
    from ._mount import target_app as target_app
    from ._server import ServeOptions as ServeOptions
    from ._server import serve as serve
    from .deploy import PlanSettings as PlanSettings
    from .deploy import cloudbuild_yaml as cloudbuild_yaml
    from .deploy._bundle import secrets_table as secrets_table

# Every public name is imported on first use. `python -m runrun serve` imports this package
# first: kept empty, it lets `__main__` switch the garbage collector off before the heavy
# imports, and a serving container never imports deploy planning at all (docs/benchmarks.md:
# cold start).
_LAZY = {
    "PlanSettings": ".deploy",
    "cloudbuild_yaml": ".deploy",
    "secrets_table": ".deploy._bundle",
    "Discovery": "._discover",
    "Target": "._discover",
    "discover": "._discover",
    "HEALTH_PATH": "._dispatch",
    "TargetDispatcher": "._dispatch",
    "DuplicateTargetError": "._errors",
    "RunrunError": "._errors",
    "SourceError": "._errors",
    "UnsupportedTargetError": "._errors",
    "build_app": "._mount",
    "target_app": "._mount",
    "ServeOptions": "._server",
    "serve": "._server",
}


def __getattr__(name: str) -> _typing.Any:
    if name in ("hooks", "deploy"):  # modules of their own
        import importlib

        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "deploy", "hooks"})


__all__ = [
    "HEALTH_PATH",
    "Discovery",
    "DuplicateTargetError",
    "PlanSettings",
    "RunrunError",
    "ServeOptions",
    "SourceError",
    "Target",
    "TargetDispatcher",
    "UnsupportedTargetError",
    "build_app",
    "cloudbuild_yaml",
    "discover",
    "deploy",
    "hooks",
    "secrets_table",
    "serve",
    "target_app",
]
