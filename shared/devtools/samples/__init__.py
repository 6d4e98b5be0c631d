"""Sample deliveries for `runrun send`: realistic payloads of each provider's common events.

Each file is valid JSON with placeholders that every send fills in afresh, so that two sends
are two deliveries (and `--repeat` re-sends one): `"{{ts}}"` as a whole JSON string becomes
the number, `{{id}}` inside a string is replaced in place.

| placeholder | value |
|---|---|
| `{{id}}` | a fresh 32-hex-digit id |
| `{{n}}` | a fresh 19-digit number (X's tweet ids) |
| `{{ts}}` / `{{ts_ms}}` | the signing time in seconds / milliseconds |
| `{{iso}}` | the signing time, RFC 3339 |
| `{{client_state}}` | Microsoft Graph's shared secret (clientState) |
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

HERE = Path(__file__).resolve().parent


def files(provider: str) -> list[Path]:
    """Every sample file shipped for `provider` (a folder name here)."""
    return sorted((HERE / provider).glob("*.json"))


def path_of(provider: str, event: str) -> Path:
    """The file of one sample event (`orders/create` lives in `orders_create.json`)."""
    return HERE / provider / (event.replace("/", "_") + ".json")


def fill(text: str, values: Mapping[str, str | int]) -> bytes:
    """`text` with every placeholder replaced (see the module docstring)."""
    for name, value in values.items():
        text = text.replace(f'"{{{{{name}}}}}"', json.dumps(value))
        text = text.replace(f"{{{{{name}}}}}", str(value))
    return text.encode()


def load(provider: str, event: str, values: Mapping[str, str | int]) -> bytes:
    """The sample body of `event`, placeholders filled."""
    return fill(path_of(provider, event).read_text(encoding="utf-8"), values)
