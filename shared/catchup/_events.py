"""From a hook's attempts to the events that never arrived: the grouping rule, kept pure.

An event is every attempt with one `guid` (GitHub keeps the guid across redeliveries). It
arrived when ANY of its attempts was answered 2xx, whenever that was: a failed original
followed by a successful redelivery is done. An event whose attempts all failed is a
candidate, represented by its LATEST attempt: that is the one a redelivery names, and the
one whose age decides whether GitHub can still redeliver it.

Why the latest attempt, and not the event, is what catch-up remembers asking for
(see `_ledger`): a request names one attempt; GitHub answers 202 and makes a new attempt
later. Until that new attempt shows in the list, the latest attempt is still the one asked
for, so a second run asks nothing. Once it shows: a 2xx makes the event arrived; a failure
is a new latest attempt, not asked for yet, so the next run asks once more, exactly as a
person pressing "Redeliver" on the newest failure would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._attempts import Attempt


@dataclass(frozen=True)
class FailedEvent:
    """An event none of whose listed attempts was answered 2xx."""

    guid: str
    latest: Attempt
    attempts: int


@dataclass(frozen=True)
class Grouped:
    """What the listed attempts say: events that arrived, and those that did not."""

    arrived: int
    failed: list[FailedEvent]


def group(attempts: Iterable[Attempt], since: float) -> Grouped:
    """Group `attempts` by guid; failed events whose latest attempt is older than `since`
    (epoch seconds) are left out: the run was asked to look no further back."""
    by_guid: dict[str, list[Attempt]] = {}
    for attempt in attempts:
        by_guid.setdefault(attempt.guid, []).append(attempt)
    arrived = 0
    failed: list[FailedEvent] = []
    for guid, tries in by_guid.items():
        if any(attempt.arrived for attempt in tries):
            arrived += 1
            continue
        latest = max(tries, key=lambda attempt: (attempt.when, attempt.id))
        if latest.when >= since:
            failed.append(FailedEvent(guid, latest, len(tries)))
    failed.sort(key=lambda event: (event.latest.when, event.latest.id))
    return Grouped(arrived, failed)
