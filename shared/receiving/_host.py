"""What the receive pipeline needs of the process it runs in: the runtime satisfies this
Protocol, and the pipeline sees nothing else of it (no start, stop or processors)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from shared._observe import Observers
from shared._trace import Tracer
from shared.backends.idempotency import Idempotency
from shared.settings import Secrets, Settings

if TYPE_CHECKING:
    from shared.receiving._route import Route


class ReceivingRuntime(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def secrets(self) -> Secrets: ...

    @property
    def observers(self) -> Observers: ...

    @property
    def tracer(self) -> Tracer | None:
        """The delivery path's spans; None when traces are off."""
        ...

    @property
    def project(self) -> str | None: ...

    @property
    def idempotency(self) -> Idempotency: ...

    def route_for(self, target: str) -> Route:
        """Where `target`'s deliveries go, and how (decided once per target)."""
        ...

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]: ...

    def verify_push(self, headers: Mapping[str, str]) -> Mapping[str, Any]: ...
