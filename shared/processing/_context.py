"""The narrow context each processor gets: its own settings, the client it declared, a
deadline, documents, the queue. A processor never sees the runtime itself (no start, stop,
claims or other processors' clients)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, TypeVar

from shared._delivery import Delivery
from shared.backends import DocumentCollection

SettingsT = TypeVar("SettingsT", covariant=True)
ClientT = TypeVar("ClientT", covariant=True)


class ProcessorContext(Protocol[SettingsT, ClientT]):
    """What one processor may use."""

    @property
    def settings(self) -> SettingsT:
        """The processor's own settings block (`Registration.settings`)."""
        ...

    @property
    def client(self) -> ClientT:
        """The client the processor declared (`Registration.client`), built on first use."""
        ...

    @property
    def project(self) -> str | None: ...

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]:
        """A budget for backend calls (default RUNRUN_DEADLINE_SECONDS)."""
        ...

    def documents(self, name: str) -> DocumentCollection:
        """The document collection `name` on the store's backend."""
        ...

    def schedule(
        self, delivery: Delivery, *, delay: float | None = None, at: float | datetime | None = None
    ) -> str:
        """Hand `delivery` to its target's queue to run later (see `Runtime.schedule`)."""
        ...

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str]) -> str:
        """Publish a message of the processor's own (a command) on `topic`."""
        ...
