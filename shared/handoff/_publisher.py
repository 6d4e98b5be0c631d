"""The handoff interface: put bytes and attributes on a topic, durably, or raise."""

from __future__ import annotations

from abc import ABC, abstractmethod


class Publisher(ABC):
    @abstractmethod
    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        """Return the message id once the queue has durably accepted the message.

        Raises:
            BackendUnavailable: the queue failed or the request's deadline ran out; the
                message was then not acknowledged and will not be sent later either.
        """

    def close(self, timeout: float = 5.0) -> None:  # noqa: B027 - optional hook
        """Finish pending work (flush, stop workers) before the process exits."""
