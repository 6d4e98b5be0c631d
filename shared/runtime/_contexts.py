"""Each processor's narrow context: its own settings block (picked once), the client it
declared (built on first use, closed when the runtime stops), and the few runtime calls a
processor may make. A processor never gets the runtime itself."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from shared._delivery import Delivery
from shared._errors import NotConfigured
from shared._lazy import Lazy
from shared.backends import DocumentCollection
from shared.backends.handoff import Publisher
from shared.processing import Registration
from shared.settings import Settings

log = logging.getLogger("runrun.runtime")


class _Host(Protocol):
    """What a context passes on to the runtime (`Runtime` satisfies it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def project(self) -> str | None: ...

    @property
    def publisher(self) -> Publisher: ...

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]: ...

    def documents(self, name: str) -> DocumentCollection: ...

    def schedule(
        self, delivery: Delivery, *, delay: float | None = None, at: float | datetime | None = None
    ) -> str: ...


class _Context:
    """One processor's view of the runtime (a `ProcessorContext`)."""

    def __init__(self, runtime: _Host, registration: Registration) -> None:
        self._runtime = runtime
        self.registration = registration
        self.settings: Any = registration.settings(runtime.settings)
        self.enabled = registration.enabled(self.settings)
        factory = registration.client
        self._client: Lazy[Any] | None = None
        if factory is not None:
            self._client = Lazy(lambda: factory(self.settings))

    @property
    def client(self) -> Any:
        if self._client is None:
            raise NotConfigured(f"processor {self.registration.name!r} declared no client")
        return self._client.get()

    @property
    def project(self) -> str | None:
        return self._runtime.project

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]:
        return self._runtime.deadline(seconds)

    def documents(self, name: str) -> DocumentCollection:
        return self._runtime.documents(name)

    def schedule(
        self, delivery: Delivery, *, delay: float | None = None, at: float | datetime | None = None
    ) -> str:
        return self._runtime.schedule(delivery, delay=delay, at=at)

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> str:
        return self._runtime.publisher.publish(topic, data, dict(attributes))

    def close(self) -> None:
        built = None if self._client is None else self._client.peek()
        close = self.registration.close_client
        if built is None or close is None:
            return
        try:
            close(built)
        except Exception as exc:  # noqa: BLE001 - one client's close never stops the others'
            log.warning(
                "could not close a processor's client",
                extra={"processor": self.registration.name, "error": type(exc).__name__},
            )


class ProcessorContexts:
    """The contexts of one runtime, one per registration, built on first use."""

    def __init__(self, runtime: _Host) -> None:
        self._runtime = runtime
        self._lock = threading.Lock()
        self._contexts: dict[str, _Context] = {}

    def get(self, registration: Registration) -> _Context:
        context = self._contexts.get(registration.name)
        if context is not None and context.registration is registration:
            return context
        with self._lock:
            context = self._contexts.get(registration.name)
            # Identity, not the name alone: a registry may replace a processor of that name.
            if context is None or context.registration is not registration:
                context = _Context(self._runtime, registration)
                self._contexts[registration.name] = context
            return context

    def close(self) -> None:
        with self._lock:
            contexts, self._contexts = list(self._contexts.values()), {}
        for context in contexts:
            context.close()
