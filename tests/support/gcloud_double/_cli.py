"""One call of the double: parse the words, load the model, run the command's handler
under the caller's identity (CLOUDSDK_CORE_ACCOUNT, the owner when unset), record whether
the model changed, print the result as gcloud would (`--format=value(...)`)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._rules import Refused

Handler = Callable[["Call"], Any]


class Call:
    """A parsed call: its command words, positional arguments and flags."""

    def __init__(self, tool: str, argv: list[str], state: dict[str, Any]) -> None:
        self.tool, self.argv, self.state = tool, argv, state
        self.words: list[str] = []
        self.flags: dict[str, Any] = {}
        self.caller = os.environ.get("CLOUDSDK_CORE_ACCOUNT") or state["owner"]
        args = iter(argv)
        for word in args:
            if not word.startswith("--"):
                self.words.append(word)
                continue
            name, eq, value = word[2:].partition("=")
            if tool == "bq" and name == "dataset":
                self.flags["dataset"] = True
                continue
            found: Any = value if eq else True
            if name in self.flags and name in ("event-filters", "trigger-event-filters"):
                self.flags[name] = [*self.flags[name], found]
            elif name in ("event-filters", "trigger-event-filters"):
                self.flags[name] = [found]
            else:
                self.flags[name] = found

    def flag(self, name: str, default: Any = None) -> Any:
        return self.flags.get(name, default)


def _handlers() -> dict[tuple[str, ...], Handler]:
    from ._commands import HANDLERS as base
    from ._deploys import HANDLERS as deploys
    from ._monitoring import HANDLERS as monitoring
    from ._scheduler import HANDLERS as scheduler

    return {**base, **deploys, **monitoring, **scheduler}


def _find(handlers: dict[tuple[str, ...], Handler], words: list[str]) -> tuple[Handler, list[str]]:
    for size in range(min(len(words), 5), 0, -1):
        handler = handlers.get(tuple(words[:size]))
        if handler is not None:
            return handler, words[size:]
    raise Refused(f"the double does not know `{' '.join(words[:4])}`")


def _value(resource: Any, expression: str) -> str:
    """gcloud's `value(a.b.c)`, `value(a.b[0].c)` and `value(a.b.basename())` projections."""
    basename = expression.endswith(".basename()")
    path = expression.removesuffix(".basename()").split(".")
    found = resource
    for key in path:
        name, _, index = key.partition("[")
        found = found.get(name, "") if isinstance(found, dict) else ""
        if index:
            position = int(index.rstrip("]"))
            found = found[position] if isinstance(found, list) and len(found) > position else ""
    text = str(found)
    return text.rsplit("/", 1)[-1] if basename else text


def _print(result: Any, fmt: str | None) -> None:
    if result is None:
        return
    match = re.fullmatch(r"value\((.+)\)", fmt or "")
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        print(_value(row, match.group(1)) if match else json.dumps(row, sort_keys=True))


def _snapshot(state: dict[str, Any]) -> str:
    # A build and its image are what a deploy makes each time, not a change of the project.
    skipped = ("internal", "log", "builds", "images")
    return json.dumps({k: v for k, v in state.items() if k not in skipped}, sort_keys=True)


def main(argv: list[str]) -> int:
    tool, rest = argv[0], argv[1:]
    path = Path(os.environ["GCLOUD_DOUBLE_STATE"])
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text())
        call = Call(tool, rest, state)
        before = _snapshot(state)
        line = " ".join([tool, *rest])
        label = ".".join([tool, *call.words[:3]])
        try:
            handler, args = _find(
                _handlers(), call.words if tool == "gcloud" else ["bq", *call.words]
            )
            result = handler_call(handler, call, args)
        except Refused as exc:
            state["log"].append({"call": line, "as": call.caller, "refused": str(exc)})
            path.write_text(json.dumps(state, indent=1, sort_keys=True))
            print(f"ERROR: ({label}) {exc}", file=sys.stderr)
            return 1
        changed = _snapshot(state) != before
        state["log"].append({"call": line, "as": call.caller, "changed": changed})
        path.write_text(json.dumps(state, indent=1, sort_keys=True))
    from ._deploys import Steps

    if isinstance(result, Steps):  # a build: its steps call the double themselves
        return result.run()
    _print(result, call.flag("format"))
    return 0


def handler_call(handler: Handler, call: Call, args: list[str]) -> Any:
    call.words = args  # what follows the command: resource names
    return handler(call)
