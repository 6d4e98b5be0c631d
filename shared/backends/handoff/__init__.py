"""Handoff: publish a delivery durably before answering 2xx (Pub/Sub, the local queue, or
memory in tests). The runtime builds the one publisher of a process (`make_publisher`)."""

from __future__ import annotations

from shared.backends.handoff._local import LocalQueue as LocalQueue
from shared.backends.handoff._local_worker import LocalWorker as LocalWorker
from shared.backends.handoff._memory import MemoryPublisher as MemoryPublisher
from shared.backends.handoff._memory import PublishedMessage as PublishedMessage
from shared.backends.handoff._outbox import Backlog as Backlog
from shared.backends.handoff._publisher import MessageState as MessageState
from shared.backends.handoff._publisher import Publisher as Publisher

__all__ = [
    "Backlog",
    "LocalQueue",
    "LocalWorker",
    "MemoryPublisher",
    "MessageState",
    "PublishedMessage",
    "Publisher",
]
