"""What a receiving target tells the pipeline about its provider: how requests are signed,
where the delivery id and the event type live, and which requests are handshakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import flask

from .verify import SignedRequest

Verifier = Callable[[SignedRequest, Sequence[bytes], int], None]


@dataclass(frozen=True)
class Inbound:
    """A request that passed verification, with its body parsed."""

    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    payload: Any
    query: Mapping[str, str] = field(default_factory=dict)

    def field(self, *path: str) -> Any:
        """`payload[path[0]][path[1]]...`, or None where any step is missing or not an object."""
        value = self.payload
        for name in path:
            if not isinstance(value, dict):
                return None
            value = value.get(name)
        return value


def _no_answer(inbound: Inbound) -> flask.Response | None:
    return None


def _never(inbound: Inbound) -> bool:
    return False


@dataclass(frozen=True)
class Provider:
    """A sender of webhooks, as the receive pipeline needs to know it."""

    target: str  # the function name: names the route, namespaces keys, is the `source`
    secret_env: str  # env var with the comma-separated secrets (several during rotation)
    verify: Verifier
    delivery_id: Callable[[Inbound], str | None]
    delivery_id_source: str  # where the id comes from, for the 400 message
    event_type: Callable[[Inbound], str]
    # A signed ownership check (Slack url_verification...) answered instead of handed off.
    challenge: Callable[[Inbound], flask.Response | None] = _no_answer
    # Verified requests answered 200 without handoff (GitHub's ping).
    ignore: Callable[[Inbound], bool] = _never
    methods: tuple[str, ...] = ("POST",)


def text_of(value: Any) -> str | None:
    """A JSON scalar as a delivery id or event type, or None."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
