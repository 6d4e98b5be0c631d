"""What a receiving target tells the pipeline about its provider: how requests are signed,
where the delivery id and the event type live, and which requests are handshakes."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import flask

from shared._errors import NotConfigured
from shared.providers._core import SignedRequest
from shared.providers._samples import Samples

Verifier = Callable[[SignedRequest, Sequence[bytes], int], None]


@dataclass(frozen=True)
class Inbound:
    """A request that passed verification, with its body parsed."""

    headers: Mapping[str, str]  # lower-cased names
    body: bytes
    payload: Any
    query: Mapping[str, str] = field(default_factory=dict)
    # Every env var the provider names, by name (challenge answers that need the secret).
    secrets: Mapping[str, Sequence[bytes]] = field(default_factory=dict)

    def secret(self, env: str) -> Sequence[bytes]:
        """The values of env var `env`; NotConfigured when it is empty."""
        return _configured(self.secrets, env)

    def field(self, *path: str) -> Any:
        """`payload[path[0]][path[1]]...`, or None where any step is missing or not an object."""
        value = self.payload
        for name in path:
            if not isinstance(value, dict):
                return None
            value = value.get(name)
        return value


@dataclass(frozen=True)
class Handshake:
    """An UNVERIFIED request, as an early ownership-check hook sees it (no body: a GET, or
    Graph's POST ?validationToken=). Only echoes and token checks belong here."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    secrets: Mapping[str, Sequence[bytes]]

    def secret(self, env: str) -> Sequence[bytes]:
        """The values of env var `env`; NotConfigured when it is empty."""
        return _configured(self.secrets, env)


def _configured(secrets: Mapping[str, Sequence[bytes]], env: str) -> Sequence[bytes]:
    values = secrets.get(env) or ()
    if not values:
        raise NotConfigured(f"{env} is not set")
    return values


def accepted_json(keys: Sequence[str]) -> tuple[int, str, str]:
    """The default answer: 200 JSON naming the delivery id(s)."""
    if len(keys) == 1:
        return 200, json.dumps({"status": "accepted", "delivery_id": keys[0]}), "application/json"
    return 200, json.dumps({"status": "accepted", "delivery_ids": list(keys)}), "application/json"


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
    # More env vars whose values join secret_env's for `verify` (Standard Webhooks' whpk_
    # public keys beside its whsec_ secrets); one of them set is enough.
    key_envs: tuple[str, ...] = ()
    # Env vars only the hooks read (Meta's verify token), found in `.secrets`.
    hook_envs: tuple[str, ...] = ()
    # An unsigned ownership check answered BEFORE verification (GET handshakes, Graph's
    # ?validationToken=). Returning None sends the request on to verification.
    handshake: Callable[[Handshake], flask.Response | None] | None = None
    # Accepted bodies: "json" (payload = the object) and/or "form" (urlencoded fields).
    body_formats: tuple[str, ...] = ("json",)
    # A batch sender: the items of one verified request, each claimed and handed off as a
    # delivery of its own (its `delivery_id`/`event_type` see the item as payload).
    split: Callable[[Inbound], Sequence[Any]] | None = None
    # The 2xx answer (status, body, content type) for the delivery ids just accepted.
    answer: Callable[[Sequence[str]], tuple[int, str, str]] = accepted_json
    # Env var overriding RUNRUN_TIMESTAMP_TOLERANCE_SECONDS for this provider only.
    tolerance_env: str = ""
    # Reached only by Google (Pub/Sub push, Cloud Tasks): also require the OIDC token
    # (PUSH_AUDIENCE, PUSH_SERVICE_ACCOUNT) when PUSH_AUDIENCE is set.
    internal: bool = False
    # How long the provider waits for an answer, as it documents it (PROVIDERS.md), in
    # seconds; the target's deadline is this minus a safety margin. None: not documented,
    # and RUNRUN_DEADLINE_SECONDS applies.
    answer_window_seconds: float | None = None
    # The sample deliveries `runrun send` sends, signed as this provider signs them.
    samples: Samples | None = None

    @property
    def env_names(self) -> tuple[str, ...]:
        """Every env var this provider reads secrets from (what deploy mounts)."""
        return (self.secret_env, *self.key_envs, *self.hook_envs)


def text_of(value: Any) -> str | None:
    """A JSON scalar as a delivery id or event type, or None."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None
