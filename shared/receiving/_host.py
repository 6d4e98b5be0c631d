"""What the receive pipeline needs of the process it runs in: the runtime satisfies this
Protocol, and the pipeline sees nothing else of it (no start, stop or processors)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, Protocol

from shared._observe import Observers
from shared.backends import EmbeddedIntake
from shared.backends.handoff import Publisher
from shared.backends.idempotency import Idempotency
from shared.settings import Secrets, Settings


class ReceivingRuntime(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def secrets(self) -> Secrets: ...

    @property
    def observers(self) -> Observers: ...

    @property
    def project(self) -> str | None: ...

    @property
    def idempotency(self) -> Idempotency: ...

    def publisher_for(self, target: str) -> Publisher: ...

    def intake_for(self, target: str) -> EmbeddedIntake | None: ...

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]: ...

    def verify_push(self, headers: Mapping[str, str]) -> Mapping[str, Any]: ...
