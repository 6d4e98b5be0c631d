"""An in-memory Publisher for tests (yours and ours), in the spirit of httpx's MockTransport.

    publisher = MemoryPublisher()
    runtime = Runtime(settings, publisher=publisher)
    ... deliver something ...
    [message] = publisher.on_topic(settings.topic)

Give it a `handler` to decide per message: raise BackendUnavailable to play a queue that is
down, or return a message id. Nothing is processed: what a receiver handed off stays here
for the test to read (or to feed to `Runtime.process` itself).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.backends.handoff._publisher import MessageState, Publisher


@dataclass(frozen=True)
class PublishedMessage:
    topic: str
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    message_id: str = ""
    not_before: float | None = None  # a scheduled message's Unix time


Handler = Callable[[PublishedMessage], str | None]


class MemoryPublisher(Publisher):
    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler
        self.published: list[PublishedMessage] = []
        self.attempts = 0  # publish calls, including those the handler refused
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def publish(
        self,
        topic: str,
        data: bytes,
        attributes: dict[str, str],
        *,
        not_before: float | None = None,
    ) -> str:
        with self._lock:
            self.attempts += 1
            message_id = str(next(self._ids))
        message = PublishedMessage(topic, data, dict(attributes), message_id, not_before)
        if self.handler is not None:
            chosen = self.handler(message)  # may raise: the message is then not kept
            if chosen is not None:
                message = PublishedMessage(topic, data, dict(attributes), chosen, not_before)
        with self._lock:
            self.published.append(message)
        return message.message_id

    def on_topic(self, topic: str) -> list[PublishedMessage]:
        """What was published to `topic`, oldest first."""
        with self._lock:
            return [m for m in self.published if m.topic == topic]

    def messages(self, limit: int = 200) -> list[MessageState] | None:
        with self._lock:
            newest = list(reversed(self.published))[:limit]
        return [MessageState(m.message_id, m.topic, m.attributes, "", "pending", 0) for m in newest]
