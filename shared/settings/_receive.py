"""The receiving targets' block: how large a body may be, how much clock skew a signed
timestamp may have, and each target's budget for its store and queue calls."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.settings._env import env_float, env_int

DEADLINE_PREFIX = "RUNRUN_DEADLINE_SECONDS_"


@dataclass(frozen=True)
class ReceiveSettings:
    max_body_bytes: int  # RUNRUN_MAX_BODY_BYTES
    timestamp_tolerance_seconds: int  # RUNRUN_TIMESTAMP_TOLERANCE_SECONDS
    # RUNRUN_DEADLINE_SECONDS: the budget of a target whose provider documents no answer
    # window, and of each store call of a processor run.
    deadline_seconds: float
    # RUNRUN_DEADLINE_SECONDS_<TARGET>: one target's own deadline, whatever its provider's.
    deadline_overrides: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> ReceiveSettings:
        return cls(
            max_body_bytes=env_int("RUNRUN_MAX_BODY_BYTES", 10 * 1024 * 1024, minimum=1),
            timestamp_tolerance_seconds=env_int(
                "RUNRUN_TIMESTAMP_TOLERANCE_SECONDS", 300, minimum=1
            ),
            # The whole budget for store and queue calls of one request: Slack gives up
            # after 3 s.
            deadline_seconds=env_float("RUNRUN_DEADLINE_SECONDS", 2.0),
            deadline_overrides={
                name[len(DEADLINE_PREFIX) :].lower(): env_float(name, 1.0)
                for name in sorted(os.environ)
                if name.startswith(DEADLINE_PREFIX) and len(name) > len(DEADLINE_PREFIX)
            },
        )

    def deadline_for(self, target: str, answer_window: float | None) -> float:
        """The budget for a receiving target's store and queue calls: its override, else
        its provider's documented answer window minus a safety margin, else
        RUNRUN_DEADLINE_SECONDS (for a provider that documents no window)."""
        override = self.deadline_overrides.get(target)
        if override is not None:
            return override
        if answer_window is None:
            return self.deadline_seconds
        return answer_window - safety_margin(answer_window)


def safety_margin(answer_window: float) -> float:
    """What a deadline keeps back from a provider's answer window: the network both ways, the
    front end and the clock of the provider, which starts counting before we do. A fifth of
    the window, and at least one second (Slack's 3 s leave 2 s, GitHub's 10 s leave 8 s)."""
    return max(1.0, answer_window / 5)
