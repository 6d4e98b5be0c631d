"""One catch-up run over a hook: list, keep what never arrived, ask for what runrun lacks.

For each event whose attempts all failed (`_events`), in this order:
1. its latest attempt is older than GitHub's redelivery window (3 days, docs.github.com
   "Redelivering webhooks"): reported, nothing can be asked;
2. the idempotency store says runrun accepted it, or is receiving it now (`_ledger`):
   nothing is asked;
3. a redelivery of its latest attempt was asked for already: nothing is asked;
4. otherwise GitHub is asked to redeliver it (with --dry-run, only reported).
So a second run asks for nothing the first one asked for, and nothing runrun holds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ._errors import GitHubError
from ._events import FailedEvent, group
from ._github import HookDeliveries
from ._ledger import Acceptance, Ledger

REDELIVERY_WINDOW_SECONDS = 3 * 24 * 3600
# GitHub refusing one redelivery (gone, too old, invalid) is that event's outcome; any
# other error (authentication, permissions, GitHub down) stops the run.
_REFUSALS = (400, 404, 410, 422)


class Verdict(enum.Enum):
    REDELIVERED = "redelivered"
    WOULD_REDELIVER = "would redeliver"
    ACCEPTED = "accepted by runrun"
    IN_FLIGHT = "being received"
    ASKED_BEFORE = "asked before"
    TOO_OLD = "too old"
    REFUSED = "refused by GitHub"


@dataclass(frozen=True)
class Outcome:
    event: FailedEvent
    verdict: Verdict
    note: str = ""


@dataclass
class Report:
    """What a run found and did, filled in as it goes (a run that stops keeps its part)."""

    hook: str
    since: float
    dry_run: bool
    listed: int = 0
    arrived: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, verdict: Verdict) -> int:
        return sum(1 for outcome in self.outcomes if outcome.verdict is verdict)

    @property
    def redelivered(self) -> int:
        return self.count(Verdict.REDELIVERED)


def catch_up(deliveries: HookDeliveries, ledger: Ledger, report: Report, *, now: float) -> Report:
    """Run catch-up over `deliveries` into `report` (see the module docstring)."""
    attempts = list(deliveries.attempts(report.since))
    report.listed = len(attempts)
    grouped = group(attempts, report.since)
    report.arrived = grouped.arrived
    for event in grouped.failed:
        report.outcomes.append(_settle(event, deliveries, ledger, report.dry_run, now))
    return report


def _settle(
    event: FailedEvent, deliveries: HookDeliveries, ledger: Ledger, dry_run: bool, now: float
) -> Outcome:
    if event.latest.when < now - REDELIVERY_WINDOW_SECONDS:
        return Outcome(event, Verdict.TOO_OLD)
    acceptance = ledger.acceptance(event.guid)
    if acceptance is Acceptance.ACCEPTED:
        return Outcome(event, Verdict.ACCEPTED)
    if acceptance is Acceptance.IN_FLIGHT:
        return Outcome(event, Verdict.IN_FLIGHT)
    if dry_run:
        asked = ledger.asked(event.latest.id)
        return Outcome(event, Verdict.ASKED_BEFORE if asked else Verdict.WOULD_REDELIVER)
    try:
        asked = ledger.ask_once(
            event.latest.id, event.guid, lambda: deliveries.redeliver(event.latest)
        )
    except GitHubError as exc:
        if exc.status not in _REFUSALS:
            raise
        return Outcome(event, Verdict.REFUSED, exc.message)
    return Outcome(event, Verdict.REDELIVERED if asked else Verdict.ASKED_BEFORE)
