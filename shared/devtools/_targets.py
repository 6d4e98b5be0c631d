"""The targets a functions package defines, each with the provider description it carries
(`webhook_target`, `fulfilment_target`): what dev secrets and `runrun send` work from."""

from __future__ import annotations

import sys
from collections.abc import Collection

from shared.providers import Fulfilment, Provider, description_of


def described_targets(
    package: str, targets: Collection[str] | None = None
) -> list[Provider | Fulfilment]:
    """The description of each target (of `targets`, or every one) defined in the modules
    of `package` that are imported, in target order."""
    found: dict[str, Provider | Fulfilment] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == package or name.startswith(package + ".")):
            continue
        for value in list(vars(module).values()):
            described = description_of(value)
            if described is None or getattr(value, "__name__", None) != described.target:
                continue
            if targets is None or described.target in targets:
                found.setdefault(described.target, described)
    return [found[name] for name in sorted(found)]
