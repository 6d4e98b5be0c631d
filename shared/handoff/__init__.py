"""Handoff: publish a delivery durably before answering 2xx (Pub/Sub or the local queue)."""

from __future__ import annotations

from .._config import get_settings
from .._lazy import Lazy
from ._local import LocalQueue as LocalQueue
from ._local import ensure_worker as ensure_worker
from ._local import set_local_consumer as set_local_consumer
from ._local import stop_worker as stop_worker
from ._publisher import Publisher as Publisher


def _build() -> Publisher:
    if get_settings().queue == "pubsub":
        from ._pubsub import PubSubPublisher

        return PubSubPublisher()
    return LocalQueue()


publisher: Lazy[Publisher] = Lazy(_build)

__all__ = [
    "LocalQueue",
    "Publisher",
    "ensure_worker",
    "publisher",
    "set_local_consumer",
    "stop_worker",
]
