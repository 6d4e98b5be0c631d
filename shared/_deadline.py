"""A per-request budget for backend calls, so a dead store or queue is answered inside the
provider's own time limit (Slack waits 3 s, GitHub 10 s) instead of hanging."""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator

from ._config import get_settings
from ._errors import BackendUnavailable

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "runrun_deadline", default=None
)


@contextlib.contextmanager
def deadline_scope(seconds: float | None = None) -> Iterator[None]:
    """Run the block with `seconds` (default RUNRUN_DEADLINE_SECONDS) for all backend calls."""
    budget = get_settings().deadline_seconds if seconds is None else seconds
    token = _deadline.set(time.monotonic() + budget)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float:
    """Seconds left for the next backend call; raises BackendUnavailable once none are left."""
    end = _deadline.get()
    if end is None:
        return get_settings().deadline_seconds
    left = end - time.monotonic()
    if left <= 0.01:
        raise BackendUnavailable(
            "backend deadline exceeded", retry_after=get_settings().retry_after_seconds
        )
    return left
