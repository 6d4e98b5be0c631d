"""Handoff: publish a delivery durably before answering 2xx (Pub/Sub, the local queue, or
memory in tests). The runtime builds the one publisher of a process (`make_publisher`)."""

from __future__ import annotations

from ._local import LocalQueue as LocalQueue
from ._local_worker import LocalWorker as LocalWorker
from ._memory import MemoryPublisher as MemoryPublisher
from ._memory import PublishedMessage as PublishedMessage
from ._publisher import MessageState as MessageState
from ._publisher import Publisher as Publisher

__all__ = [
    "LocalQueue",
    "LocalWorker",
    "MemoryPublisher",
    "MessageState",
    "PublishedMessage",
    "Publisher",
]
