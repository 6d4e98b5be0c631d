"""`__all__` of the public packages is exactly their public namespace (after httpx's
tests/test_exported_members.py): nothing exported that is missing, nothing public that is
not exported. Submodules are attributes too once imported, but are not exports."""

from __future__ import annotations

import types

import pytest

import shared
import shared.backends
import shared.catchup
import shared.dialogflow
import shared.processing
import shared.providers
import shared.receiving
import shared.runtime
import shared.settings
import shared.tracing

PACKAGES = [
    shared,
    shared.backends,
    shared.catchup,
    shared.dialogflow,
    shared.processing,
    shared.providers,
    shared.receiving,
    shared.runtime,
    shared.settings,
    shared.tracing,
]


def public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_every_exported_name_exists(module: types.ModuleType) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_every_public_name_is_exported(module: types.ModuleType) -> None:
    assert sorted(public_names(module) - set(module.__all__)) == []


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_all_is_sorted_without_duplicates(module: types.ModuleType) -> None:
    assert module.__all__ == sorted(set(module.__all__))


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_star_import_gives_exactly_all(module: types.ModuleType) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {module.__name__} import *", namespace)
    namespace.pop("__builtins__")
    assert sorted(namespace) == sorted(module.__all__)


@pytest.mark.parametrize("module", PACKAGES, ids=lambda m: m.__name__)
def test_exports_are_the_packages_own(module: types.ModuleType) -> None:
    # A re-export of a third-party name (typing.Any, flask.Response) is an accident.
    foreign = [
        name
        for name in module.__all__
        if isinstance(getattr(module, name), type | types.FunctionType)
        and not getattr(module, name).__module__.startswith("shared.")
    ]
    assert foreign == []
