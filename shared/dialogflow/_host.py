"""What Dialogflow fulfilment needs of the process it runs in (the runtime satisfies it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from shared._observe import Observers
from shared.backends import DocumentCollection
from shared.backends.handoff import Publisher
from shared.backends.idempotency import Idempotency
from shared.processing import Registration
from shared.providers import CertificateCache
from shared.settings import Secrets, Settings


class FulfilmentRuntime(Protocol):
    """What the fulfilment pipeline and its handlers use (handlers: settings, documents,
    publisher, a processor's settings)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def secrets(self) -> Secrets: ...

    @property
    def observers(self) -> Observers: ...

    @property
    def idempotency(self) -> Idempotency: ...

    @property
    def certificates(self) -> CertificateCache: ...

    @property
    def fulfilment_pool(self) -> ThreadPoolExecutor: ...

    @property
    def publisher(self) -> Publisher: ...

    def documents(self, name: str) -> DocumentCollection: ...

    def processor_settings(self, registration: Registration) -> Any:
        """A processor's own settings block (the `store` processor's collection, say)."""
        ...
