"""What the processing side needs of the process it runs in: the runtime satisfies this
Protocol, and the pipeline sees nothing else of it."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from shared._delivery import Delivery
from shared._observe import Observers
from shared._renewals import Renewals
from shared._trace import Tracer
from shared.backends.idempotency import Idempotency
from shared.processing._context import ProcessorContext
from shared.processing._registry import ProcessorRegistry, Registration
from shared.settings import Settings


class ProcessingRuntime(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def observers(self) -> Observers: ...

    @property
    def tracer(self) -> Tracer | None:
        """The delivery path's spans; None when traces are off."""
        ...

    @property
    def idempotency(self) -> Idempotency: ...

    @property
    def project(self) -> str | None: ...

    @property
    def processors(self) -> ProcessorRegistry | None: ...

    @property
    def renewals(self) -> Renewals:
        """The heartbeats that renew a running processor's claim."""
        ...

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]: ...

    def verify_push(self, headers: Mapping[str, str]) -> Mapping[str, Any]: ...

    def schedule(
        self, delivery: Delivery, *, delay: float | None = None, at: float | datetime | None = None
    ) -> str: ...

    def publish(self, topic: str, delivery: Delivery, attributes: Mapping[str, str]) -> str: ...

    def processor_context(self, registration: Registration) -> ProcessorContext[Any, Any]: ...

    def enabled(self, registration: Registration) -> bool: ...
