"""Where each event target's events come from: the `[tool.runrun.triggers]` table.

An HTTP target is reached at its URL; an event target (signature type `event` or
`cloudevent`) needs a source, declared per target name in the pyproject.toml beside the
source module:

    [tool.runrun.triggers]
    process_delivery = { topic = "webhook-deliveries" }     # a Pub/Sub topic
    on_upload = { event = "google.cloud.storage.object.v1.finalized",
                  filters = { bucket = "my-uploads" }, location = "us" }   # an Eventarc event

`topic` is a Pub/Sub topic (created by the plan). `event` is an Eventarc event type, with
`filters` its other matching attributes and `location` the trigger's region (default: the
deploy region; a bucket's events need the bucket's location). An event target declared
nowhere gets a topic: the one its library names (`DeployNeeds.event_topics`: the webhook
library's `process_delivery` reads RUNRUN_TOPIC), else the topic named after the target.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._discover import CLOUDEVENT, EVENT, Target
from .._errors import RunrunError

_KEYS = {"topic", "event", "filters", "location"}


class TriggerConfigError(RunrunError):
    """The `[tool.runrun.triggers]` table names an unknown target or is malformed."""


@dataclass(frozen=True)
class Trigger:
    """One event target's source: a Pub/Sub topic, or an Eventarc event type + filters."""

    target: str
    topic: str = ""
    event_type: str = ""
    filters: tuple[tuple[str, str], ...] = ()
    location: str = ""

    @property
    def is_topic(self) -> bool:
        return bool(self.topic)


def is_event(target: Target, fed: Iterable[str] = ()) -> bool:
    """Fed by events: every CloudEvent or background target, and the HTTP targets a library
    names as fed by a topic (`fed`: the webhook library's processor parses its own push
    envelope)."""
    return target.signature_type in (CLOUDEVENT, EVENT) or target.name in fed


def read_table(pyproject: Path) -> dict[str, Any]:
    """The `[tool.runrun.triggers]` table of `pyproject`, empty when there is none."""
    if not pyproject.is_file():
        return {}
    try:
        data = tomllib.loads(pyproject.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise TriggerConfigError(f"{pyproject} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("runrun", {}).get("triggers", {})
    if not isinstance(table, dict):
        raise TriggerConfigError(f"{pyproject}: [tool.runrun.triggers] must be a table")
    return table


def _parse(name: str, raw: Any, where: str) -> Trigger:
    if not isinstance(raw, Mapping):
        raise TriggerConfigError(f"{where}: trigger of {name!r} must be a table, got {raw!r}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise TriggerConfigError(
            f"{where}: trigger of {name!r} has unknown key(s) {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(_KEYS))})"
        )
    topic, event = raw.get("topic", ""), raw.get("event", "")
    if bool(topic) == bool(event):
        raise TriggerConfigError(
            f"{where}: trigger of {name!r} needs exactly one of `topic` (a Pub/Sub topic) "
            "or `event` (an Eventarc event type)"
        )
    filters = raw.get("filters", {})
    if not isinstance(filters, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in filters.items()
    ):
        raise TriggerConfigError(f"{where}: `filters` of {name!r} must map names to strings")
    if topic and (filters or raw.get("location")):
        raise TriggerConfigError(
            f"{where}: trigger of {name!r}: `filters` and `location` go with `event`, not `topic`"
        )
    if "type" in filters:
        raise TriggerConfigError(f"{where}: give {name!r}'s event type as `event`, not a filter")
    return Trigger(
        target=name,
        topic=str(topic),
        event_type=str(event),
        filters=tuple(sorted(filters.items())),
        location=str(raw.get("location", "")),
    )


def triggers(
    targets: Iterable[Target], pyproject: Path, *, topics: Mapping[str, str] | None = None
) -> dict[str, Trigger]:
    """Target name -> its trigger, for every event target; a declaration for a target that
    is not an event target (or does not exist) is refused, naming the target."""
    topics = topics or {}
    where = f"{pyproject} [tool.runrun.triggers]"
    table = read_table(pyproject)
    by_name = {t.name: t for t in targets}
    for name in table:
        if name not in by_name:
            known = (
                ", ".join(sorted(n for n, t in by_name.items() if is_event(t, topics))) or "none"
            )
            raise TriggerConfigError(
                f"{where}: {name!r} is not a target of the source (event targets: {known})"
            )
        if not is_event(by_name[name], topics):
            raise TriggerConfigError(
                f"{where}: {name!r} is an HTTP target: it is reached at its URL, not triggered"
            )
    found = {}
    for target in by_name.values():
        if not is_event(target, topics):
            continue
        if target.name in table:
            found[target.name] = _parse(target.name, table[target.name], where)
        else:
            found[target.name] = Trigger(target.name, topic=topics.get(target.name, target.name))
    return found
