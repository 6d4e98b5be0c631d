"""A per-request budget for backend calls, so a dead store or queue is answered inside the
provider's own time limit (Slack waits 3 s, GitHub 10 s) instead of hanging.

Scopes nest: an inner scope (the claim's share of a request) never outlives the outer one.
"""

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
def deadline_scope(seconds: float | None = None, *, nested: bool = True) -> Iterator[None]:
    """Run the block with `seconds` (default RUNRUN_DEADLINE_SECONDS) for all backend calls,
    or with what is left of an enclosing scope, whichever ends first (`nested=False`: a
    budget of its own, for clean-up after the enclosing budget ran out)."""
    budget = get_settings().deadline_seconds if seconds is None else seconds
    end = time.monotonic() + budget
    outer = _deadline.get() if nested else None
    token = _deadline.set(end if outer is None else min(end, outer))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left in the current scope (possibly <= 0), or None outside any scope."""
    end = _deadline.get()
    return None if end is None else end - time.monotonic()


def remaining() -> float:
    """Seconds left for the next backend call; raises BackendUnavailable once none are left."""
    left = time_left()
    if left is None:
        return get_settings().deadline_seconds
    if left <= 0.01:
        raise BackendUnavailable(  # raised before a call is made: nothing was sent
            "backend deadline exceeded",
            retry_after=get_settings().retry_after_seconds,
            may_have_applied=False,
        )
    return left
