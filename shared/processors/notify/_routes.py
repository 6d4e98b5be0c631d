"""The notify routing table: which deliveries become which FCM message.

The table is a JSON list (RUNRUN_NOTIFY_ROUTES, or the file named by
RUNRUN_NOTIFY_ROUTES_FILE); each entry names a target and an event type ("*" for any) and
exactly one destination: `topic`, `condition` or `fid` (a Firebase installation ID;
the SDK has deprecated registration tokens for it). `title`, `body`, the destination and
each value of `data` are templates whose `{a.b.0.c}` placeholders are paths into the JSON
payload, so Stripe's `{data.object.amount_paid}` or GitHub's `repo-{repository.name}` work as
written. The whole table is checked when settings are read, so a bad entry stops the process
at start with a message naming it, rather than failing deliveries one by one later.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

ANY = "*"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PATH = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
# FCM's own rule for topic names; a literal topic that breaks it could never be sent.
_TOPIC = re.compile(r"^[a-zA-Z0-9\-_.~%]+$")
_DESTINATIONS = ("topic", "condition", "fid")
_KEYS = {"target", "event", "title", "body", "data", *_DESTINATIONS}


class RouteError(ValueError):
    """A routing table entry the project cannot use (message names the entry)."""


class MissingField(LookupError):
    """A template names a payload field this delivery does not have."""


@dataclass(frozen=True)
class Template:
    text: str

    def render(self, payload: Any) -> str:
        def value(match: re.Match[str]) -> str:
            found = lookup(payload, match.group(1))
            if isinstance(found, list):
                raise MissingField(f"{match.group(1)} is a list, not a single value")
            return found if isinstance(found, str) else json.dumps(found)

        return _PLACEHOLDER.sub(value, self.text)

    def render_many(self, payload: Any) -> list[str]:
        """A template that is one placeholder naming a list gives one value per item
        (an `fid` route sending to every app instance listed in the payload)."""
        whole = _PLACEHOLDER.fullmatch(self.text)
        if whole is not None:
            found = lookup(payload, whole.group(1))
            if isinstance(found, list):
                return [item if isinstance(item, str) else json.dumps(item) for item in found]
        return [self.render(payload)]


def lookup(payload: Any, path: str) -> Any:
    node = payload
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise MissingField(f"the payload has no field {path}")
    if node is None or isinstance(node, dict):
        raise MissingField(f"the payload field {path} is {'null' if node is None else 'an object'}")
    return node


@dataclass(frozen=True)
class NotifyRoute:
    target: str
    event: str
    destination: str  # "topic", "condition" or "fid" (a Firebase installation ID)
    to: Template
    title: Template | None = None
    body: Template | None = None
    data: tuple[tuple[str, Template], ...] = field(default=())

    def matches(self, source: str, event_type: str) -> bool:
        return self.target in (ANY, source) and self.event in (ANY, event_type)


def _template(where: str, key: str, raw: Any) -> Template:
    if not isinstance(raw, str) or not raw:
        raise RouteError(f"{where}: {key} must be a non-empty string")
    for path in _PLACEHOLDER.findall(raw):
        if not _PATH.match(path):
            raise RouteError(f"{where}: {key} has a bad placeholder {{{path}}}")
    if "{" in _PLACEHOLDER.sub("", raw) or "}" in _PLACEHOLDER.sub("", raw):
        raise RouteError(f"{where}: {key} has an unbalanced brace")
    return Template(raw)


def _route(index: int, entry: Any) -> NotifyRoute:
    if not isinstance(entry, dict):
        raise RouteError(f"entry {index}: must be an object")
    target, event = entry.get("target"), entry.get("event")
    where = f"entry {index} ({target} {event})"
    for key, value in (("target", target), ("event", event)):
        if not isinstance(value, str) or not value.strip():
            raise RouteError(f"{where}: {key} must be a non-empty string ('*' for any)")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise RouteError(f"{where}: unknown key(s) {', '.join(unknown)}")
    given = [key for key in _DESTINATIONS if key in entry]
    if len(given) != 1:
        raise RouteError(f"{where}: needs exactly one of topic, condition, fid")
    destination = given[0]
    to = _template(where, destination, entry[destination])
    if destination == "topic" and not _PLACEHOLDER.search(to.text) and not _TOPIC.match(to.text):
        raise RouteError(f"{where}: {to.text!r} is not a valid FCM topic name")
    data = entry.get("data", {})
    if not isinstance(data, dict):
        raise RouteError(f"{where}: data must be an object of name -> template")
    if "title" not in entry and "body" not in entry and not data:
        raise RouteError(f"{where}: needs a title, a body or data to send")
    return NotifyRoute(
        target=str(target),
        event=str(event),
        destination=destination,
        to=to,
        title=_template(where, "title", entry["title"]) if "title" in entry else None,
        body=_template(where, "body", entry["body"]) if "body" in entry else None,
        data=tuple((str(k), _template(where, f"data.{k}", v)) for k, v in data.items()),
    )


def parse_routes(text: str) -> tuple[NotifyRoute, ...]:
    """Parse and check a routing table; RouteError names the first bad entry."""
    try:
        table = json.loads(text)
    except ValueError as exc:
        raise RouteError(f"not valid JSON ({exc})") from None
    if not isinstance(table, list) or not table:
        raise RouteError("must be a non-empty JSON list of routes")
    routes = tuple(_route(i, entry) for i, entry in enumerate(table))
    seen: set[tuple[str, str]] = set()
    for i, route in enumerate(routes):
        if (route.target, route.event) in seen:
            raise RouteError(f"entry {i} ({route.target} {route.event}): a second route for it")
        seen.add((route.target, route.event))
    return routes


def route_for(routes: tuple[NotifyRoute, ...], source: str, event_type: str) -> NotifyRoute | None:
    """The most specific route: an exact (target, event) pair wins over a wildcard."""
    matching = [r for r in routes if r.matches(source, event_type)]
    matching.sort(key=lambda r: (r.target == ANY, r.event == ANY))
    return matching[0] if matching else None
