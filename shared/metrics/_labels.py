"""What a report counts as: a delivery's outcome and reason class, and the latency buckets
around the providers' answer windows. Plain values: no metrics library is imported here.

A delivery is counted under one outcome:

    accepted       handed off (reason "unclaimed" when the store failed and it went on
                   without a claim: still durable, still a 2xx)
    replayed       a duplicate answered with the stored answer
    handshake      an ownership check answered
    ignored        a request the provider marks as nothing to do
    rejected       a 4xx: the reason class says which (signature, malformed, ...)
    server_error   a 5xx: "handoff" when the queue did not take it, else its class
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# A rejection's reason class, from its status (shared/_errors.py's tree): a closed set, so a
# label never carries a message, a body or anything a sender chose.
REASONS = {
    400: "malformed",
    401: "signature",
    403: "forbidden",
    404: "not_found",
    405: "method",
    409: "in_progress",
    413: "too_large",
    415: "media_type",
    422: "payload_mismatch",
    500: "error",
    503: "unavailable",
}
OUTCOMES = ("accepted", "replayed", "handshake", "ignored")
# Below the shortest answer window: what a healthy delivery takes (seconds).
FAST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)


def delivery_labels(details: Mapping[str, Any]) -> tuple[str, str]:
    """(outcome, reason) of one answered request, from its log line's fields."""
    status = _status(details.get("status"))
    outcome = str(details.get("outcome") or "rejected")
    if status >= 500:
        if details.get("handoff_failed"):
            return "server_error", "handoff"
        return "server_error", REASONS.get(status, "error")
    if status >= 400:
        return "rejected", REASONS.get(status, "client_error")
    if outcome == "accepted_unclaimed":
        return "accepted", "unclaimed"
    return (outcome if outcome in OUTCOMES else "accepted"), ""


def _status(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 500  # no status recorded: the request did not end as planned


def latency_buckets(windows: Iterable[float], deadlines: Iterable[float]) -> tuple[float, ...]:
    """Histogram bounds in seconds: the fast ones, then each provider's deadline (its answer
    window less the safety margin) and the window itself, so that "answered after the
    deadline" and "answered after the window" are each one bucket away for every provider."""
    bounds = {*FAST_BUCKETS, *(round(w, 3) for w in windows), *(round(d, 3) for d in deadlines)}
    return tuple(sorted(b for b in bounds if b > 0))
