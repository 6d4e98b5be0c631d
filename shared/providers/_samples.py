"""What a provider package's samples are made of: the sample deliveries `runrun send` sends,
each signed and sent as its provider does, and what the provider counts as success.

A provider's `_sample.py` writes its signer from the provider's documentation with hmac,
hashlib and base64 alone, apart from the verifier beside it: a mistake shared by both sides
would cancel itself out, so the tests hold each signer to the provider's published examples.

Each sample file (`<provider>/samples/<event>.json`) is valid JSON with placeholders that
every send fills in afresh, so that two sends are two deliveries (and `--repeat` re-sends
one): `"{{ts}}"` as a whole JSON string becomes the number, `{{id}}` inside a string is
replaced in place.

| placeholder | value |
|---|---|
| `{{id}}` | a fresh 32-hex-digit id |
| `{{n}}` | a fresh 19-digit number (X's tweet ids) |
| `{{ts}}` / `{{ts_ms}}` | the signing time in seconds / milliseconds |
| `{{iso}}` | the signing time, RFC 3339 |
| `{{client_state}}` | Microsoft Graph's shared secret (clientState) |
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

JSON = "application/json"


@dataclass(frozen=True)
class Answer:
    """The target's answer: status, lower-cased headers, body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def succeeded(answer: Answer) -> str | None:
    """Every provider counts any 2xx as delivered; the reason it did not, or None."""
    return None if 200 <= answer.status < 300 else f"HTTP {answer.status} is not a 2xx"


@dataclass(frozen=True)
class Draft:
    """One send, before its signature: the target's URL, the event and the filled body."""

    url: str
    event: str
    body: bytes
    secret: str  # the value signed with: the first of the env var's values, or a wrong one
    timestamp: int
    delivery_id: str  # fresh for each `runrun send`, the same for each of its --repeat
    bad_signature: bool = False


@dataclass(frozen=True)
class Outgoing:
    """A request ready to go, and how to tell whether the provider would be satisfied."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    check: Callable[[Answer], str | None] = succeeded
    hidden: frozenset[str] = frozenset()  # header names whose values are never printed
    hidden_values: tuple[str, ...] = ()  # values (tokens in the URL) never printed


@dataclass(frozen=True)
class Samples:
    """A provider's sample deliveries, as `runrun send` plays them; the secret signed with
    is the one the provider's description names."""

    folder: Path  # the sample files, `<event>.json` (`orders/create`: `orders_create.json`)
    events: tuple[str, ...]  # the first one is the default
    build: Callable[[Draft], Outgoing]
    timestamped: bool = False  # whether --stale means anything
    # Events signed with the provider's first hook env instead of its secret (Meta's
    # subscription check sends the verify token).
    hook_env_events: frozenset[str] = frozenset()
    # Events whose body is no sample file (GET handshakes).
    bodyless: frozenset[str] = frozenset()
    # Events that need no secret at all (unsigned echo checks).
    keyless: frozenset[str] = frozenset()

    @property
    def name(self) -> str:
        return self.folder.parent.name

    def files(self) -> list[Path]:
        """Every sample file shipped."""
        return sorted(self.folder.glob("*.json"))

    def path_of(self, event: str) -> Path:
        return self.folder / (event.replace("/", "_") + ".json")

    def load(self, event: str, values: Mapping[str, str | int]) -> bytes:
        """The sample body of `event`, placeholders filled."""
        return fill(self.path_of(event).read_text(encoding="utf-8"), values)


def fill(text: str, values: Mapping[str, str | int]) -> bytes:
    """`text` with every placeholder replaced (see the module docstring)."""
    for name, value in values.items():
        text = text.replace(f'"{{{{{name}}}}}"', json.dumps(value))
        text = text.replace(f"{{{{{name}}}}}", str(value))
    return text.encode()


def hmac_digest(secret: bytes, message: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(secret, message, digest).digest()


def with_query(url: str, **params: str) -> str:
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + separator + urllib.parse.urlencode(params)


def uuid_of(draft: Draft) -> str:
    """A UUID as stable as the draft's delivery id (the same for each --repeat)."""
    return str(uuid.UUID(hex=hashlib.sha256(draft.delivery_id.encode()).hexdigest()[:32]))


def json_post(draft: Draft, headers: dict[str, str], hidden: tuple[str, ...] = ()) -> Outgoing:
    """The draft as a JSON POST with `headers`; `hidden` headers are never printed."""
    return Outgoing(
        "POST", draft.url, {"Content-Type": JSON, **headers}, draft.body, hidden=frozenset(hidden)
    )


def echoed(expected: str) -> Callable[[Answer], str | None]:
    """An ownership check's success: 200 echoing `expected`, as text or JSON `challenge`."""

    def check(answer: Answer) -> str | None:
        if answer.status != 200:
            return f"HTTP {answer.status}: the check needs 200 with the challenge"
        text = answer.body.decode("utf-8", errors="replace")
        if text == expected:
            return None
        try:
            if json.loads(text).get("challenge") == expected:
                return None
        except (ValueError, AttributeError):
            pass
        return "the answer does not echo the challenge"

    return check


def json_field(name: str, expected: str) -> Callable[[Answer], str | None]:
    """An ownership check's success: 200 with JSON field `name` equal to `expected`."""

    def check(answer: Answer) -> str | None:
        if answer.status != 200:
            return f"HTTP {answer.status}: the check needs 200"
        try:
            value = json.loads(answer.body).get(name)
        except (ValueError, AttributeError):
            return "the answer is not a JSON object"
        return None if value == expected else f"the answer's {name} is not the expected one"

    return check
