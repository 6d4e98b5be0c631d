"""The handoff interface: put bytes and attributes on a topic, durably, or raise.

A queue that can show its messages to a viewer (the inspector) says so by returning them
from `messages`; one that cannot (Pub/Sub keeps them on Google's side) returns None.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from shared.backends._batching import Followup


@dataclass(frozen=True)
class MessageState:
    """A queued message as a viewer sees it: never its data."""

    message_id: str
    topic: str
    attributes: dict[str, str]
    published_at: str
    state: str  # pending, running, retrying, dead-lettered
    attempts: int
    next_attempt_at: float = 0.0
    last_error: str | None = None


class Publisher(ABC):
    @abstractmethod
    def publish(
        self,
        topic: str,
        data: bytes,
        attributes: dict[str, str],
        *,
        not_before: float | None = None,
    ) -> str:
        """Return the message id once the queue has durably accepted the message.

        `not_before` (a Unix time) holds the message back until then (a scheduled run).

        Raises:
            BackendUnavailable: the queue failed or the request's deadline ran out; the
                message was then not acknowledged and will not be sent later either.
            NotConfigured: `not_before` was given to a queue that cannot schedule.
        """

    def publish_followup(
        self, topic: str, data: bytes, attributes: dict[str, str]
    ) -> Followup | None:
        """`publish` as a Followup (its result: the message id), for a queue that batches
        its publishes, to be made after an earlier batched call (a claim) for its caller;
        None when this queue does not batch. Raises as `publish` does when the topic
        cannot be reached before anything is sent."""
        return None

    def publish_then(
        self, topic: str, data: bytes, attributes: dict[str, str], then: Followup
    ) -> tuple[str, Any]:
        """`publish`, then `then`'s call once the message is acknowledged: the message id
        and `then`'s result (or the exception it failed with). Raises as `publish` does, and
        then `then` is never made. A queue that batches its publishes makes `then` on the
        batch's thread (`Batcher.submit`); this one makes it here, after the publish."""
        return self.publish(topic, data, attributes), then.run()

    def messages(self, limit: int = 200) -> list[MessageState] | None:
        """The newest messages, for a viewer; None when this queue cannot show them."""
        return None

    def replay(self, message_id: str) -> bool:
        """Put a dead-lettered message back in the queue; False when there is none such."""
        return False

    def warm(self, topic: str) -> None:  # noqa: B027 - optional hook
        """Open the connection to `topic` with one cheap call, within the current deadline."""

    def close(self, timeout: float = 5.0) -> None:  # noqa: B027 - optional hook
        """Finish pending work (flush) before the process exits."""
