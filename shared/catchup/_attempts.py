"""One delivery attempt as GitHub lists it (`hook-delivery-item`), read strictly.

GitHub's REST API description (github/rest-api-description, schema `hook-delivery-item`):
`id` (the attempt: what a redelivery request names), `guid` ("shared with all deliveries for
all webhooks that subscribe to this event", sent as `X-GitHub-Delivery`: the idempotency key
runrun's GitHub target claims), `delivered_at`, `redelivery`, `status`, `status_code`,
`event`, `action`, `installation_id`, `repository_id`, `throttled_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ._errors import GitHubError


@dataclass(frozen=True)
class Attempt:
    """One attempt GitHub made to deliver an event to the hook."""

    id: int
    guid: str
    delivered_at: datetime
    redelivery: bool
    status_code: int
    status: str
    event: str
    action: str | None = None

    @property
    def arrived(self) -> bool:
        """The receiver answered 2xx. runrun's targets answer 2xx only once a delivery is
        durably handed off, so a 2xx attempt is one runrun accepted. (GitHub's own `status`
        filter counts 3xx as success too; a redirect is not followed, so not here.)"""
        return 200 <= self.status_code < 300

    @property
    def when(self) -> float:
        """`delivered_at` in epoch seconds."""
        return self.delivered_at.timestamp()


def parse_attempt(item: Any) -> Attempt:
    """An Attempt from one item of the deliveries list; GitHubError naming what is wrong."""
    if not isinstance(item, dict):
        raise GitHubError(f"a delivery in GitHub's list is not an object: {item!r:.80}")
    try:
        return Attempt(
            id=_integer(item["id"]),
            guid=_text(item["guid"]),
            delivered_at=_timestamp(item["delivered_at"]),
            redelivery=bool(item["redelivery"]),
            status_code=_integer(item["status_code"]),
            status=str(item.get("status") or ""),
            event=str(item.get("event") or ""),
            action=item.get("action") if isinstance(item.get("action"), str) else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GitHubError(
            f"delivery {item.get('id')!r} in GitHub's list is malformed: {exc!r}"
        ) from exc


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value.strip()


def _timestamp(value: Any) -> datetime:
    when = datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no time zone")
    return when
