"""A run's report for people (one line per event that did not arrive, then a summary) and
for machines (`--json`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

from ._run import Report, Verdict

_ORDER = (
    Verdict.REDELIVERED,
    Verdict.WOULD_REDELIVER,
    Verdict.ASKED_BEFORE,
    Verdict.ACCEPTED,
    Verdict.IN_FLIGHT,
    Verdict.TOO_OLD,
    Verdict.REFUSED,
)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def text_lines(report: Report) -> Iterator[str]:
    """One line per event whose attempts all failed, then the summary."""
    width = max((len(verdict.value) for verdict in _ORDER), default=0)
    for outcome in report.outcomes:
        latest = outcome.event.latest
        line = (
            f"{outcome.verdict.value:<{width}}  {outcome.event.guid}  {latest.event or '-'}"
            f"  attempt {latest.id} answered {latest.status_code or latest.status or '-'}"
            f" at {_iso(latest.when)} ({outcome.event.attempts} attempt(s))"
        )
        yield f"{line}: {outcome.note}" if outcome.note else line
    yield summary(report)


def summary(report: Report) -> str:
    counts = ", ".join(
        f"{report.count(verdict)} {verdict.value}" for verdict in _ORDER if report.count(verdict)
    )
    mode = " (dry run: nothing asked)" if report.dry_run else ""
    return (
        f"catch-up of {report.hook} since {_iso(report.since)}{mode}: {report.listed} attempts "
        f"listed, {report.arrived} events arrived, {len(report.outcomes)} never did"
        + (f": {counts}" if counts else "")
    )


def as_json(report: Report) -> str:
    return json.dumps(
        {
            "hook": report.hook,
            "since": _iso(report.since),
            "dry_run": report.dry_run,
            "listed": report.listed,
            "arrived": report.arrived,
            "counts": {verdict.value: report.count(verdict) for verdict in _ORDER},
            "events": [
                {
                    "guid": outcome.event.guid,
                    "attempt_id": outcome.event.latest.id,
                    "event": outcome.event.latest.event,
                    "status_code": outcome.event.latest.status_code,
                    "delivered_at": _iso(outcome.event.latest.when),
                    "attempts": outcome.event.attempts,
                    "verdict": outcome.verdict.value,
                    "note": outcome.note,
                }
                for outcome in report.outcomes
            ],
        }
    )
