"""A per-request budget for backend calls, so a dead store or queue is answered inside the
provider's own time limit (Slack waits 3 s, GitHub 10 s) instead of hanging.

Scopes nest: an inner scope (the claim's share of a request) never outlives the outer one,
and inherits the Retry-After that the outer one gives a call it cuts short. The runtime
opens the outermost scopes with the values of its settings; this module reads none.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from typing import NamedTuple

from shared._errors import BackendUnavailable

# Outside any scope (a command-line tool, a test calling a backend directly): the defaults
# of RUNRUN_DEADLINE_SECONDS and RUNRUN_RETRY_AFTER_SECONDS.
UNSCOPED_BUDGET_SECONDS = 2.0
UNSCOPED_RETRY_AFTER_SECONDS = 5


class _Scope(NamedTuple):
    end: float  # time.monotonic()
    retry_after: int  # what a call cut short by this scope tells the sender to wait


_deadline: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar(
    "runrun_deadline", default=None
)


@contextlib.contextmanager
def deadline_scope(
    seconds: float, *, nested: bool = True, retry_after: int | None = None
) -> Iterator[None]:
    """Run the block with `seconds` for all backend calls, or with what is left of an
    enclosing scope, whichever ends first (`nested=False`: a budget of its own, for clean-up
    after the enclosing budget ran out). `retry_after`: the Retry-After of a call this scope
    cuts short (default: the enclosing scope's)."""
    end = time.monotonic() + seconds
    outer = _deadline.get()
    if retry_after is None:
        retry_after = UNSCOPED_RETRY_AFTER_SECONDS if outer is None else outer.retry_after
    if nested and outer is not None:
        end = min(end, outer.end)
    token = _deadline.set(_Scope(end, retry_after))
    try:
        yield
    finally:
        _deadline.reset(token)


def time_left() -> float | None:
    """Seconds left in the current scope (possibly <= 0), or None outside any scope."""
    scope = _deadline.get()
    return None if scope is None else scope.end - time.monotonic()


def remaining() -> float:
    """Seconds left for the next backend call; raises BackendUnavailable once none are left."""
    scope = _deadline.get()
    if scope is None:
        return UNSCOPED_BUDGET_SECONDS
    left = scope.end - time.monotonic()
    if left <= 0.01:
        raise BackendUnavailable(  # raised before a call is made: nothing was sent
            "backend deadline exceeded", retry_after=scope.retry_after, may_have_applied=False
        )
    return left
