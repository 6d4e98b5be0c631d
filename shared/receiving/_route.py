"""Where a target's deliveries go, and how: decided once per target by the runtime (the
strategies are drawn in _hand_off.py)."""

from __future__ import annotations

from dataclasses import dataclass

from shared.backends import EmbeddedIntake
from shared.backends.handoff import Publisher


@dataclass(frozen=True, slots=True)
class Route:
    """Where a target's deliveries go, and how (see the module docstring)."""

    publisher: Publisher
    intake: EmbeddedIntake | None
    chained: bool  # the queue batches its publishes, so they can chain after a claim

    @classmethod
    def of(cls, publisher: Publisher, intake: EmbeddedIntake | None) -> Route:
        batches = type(publisher).publish_followup is not Publisher.publish_followup
        return cls(publisher, intake, batches)
