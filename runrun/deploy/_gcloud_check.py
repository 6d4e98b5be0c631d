"""Hold every gcloud command of a plan (or of cloudbuild.yaml) against the installed gcloud.

Offline: each command's own `gcloud ... --help` says which command it is and which flags it
takes. A line fails when its command is unknown, a flag is not one of that command's (nor a
gcloud-wide flag), a switch is given a value or a valued flag none. Commands quoted inside a
line (`$(gcloud ...)`, a message naming the command to run) are checked too. Help pages are
cached per command for one check, and fetched a few at a time.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .._errors import RunrunError

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A flag's own entry: the flag alone on its line, or followed by `=PLACEHOLDER` or `; default`
# or `, -x` (its short form); a line of prose that starts with a flag goes on with a comma,
# a quote or more words.
_FLAG_LINE = re.compile(
    r"^\s+--(\[no-\])?([a-z0-9][a-z0-9-]*)(=[A-Z\[(])?(?:;|,\s+-[A-Za-z]\b|\s*$|(?<=[\[(A-Z]))"
)
_WIDE_FLAG = re.compile(r"--([a-z0-9][a-z0-9-]*)")
_SECTION = re.compile(r"^[A-Z][A-Z &-]+$")
_PUNCTUATION = set("();<>|&")
# Nothing but the help page: no update check, no usage report.
_QUIET = {
    "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
    "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "1",
}


class GcloudMissingError(RunrunError):
    """No gcloud on PATH: nothing to check against."""


@dataclass(frozen=True)
class Help:
    """What one gcloud command's --help says: its words, whether it is a group, its flags
    (name -> takes a value; None when unknown, as for gcloud-wide flags)."""

    path: tuple[str, ...]
    group: bool
    flags: dict[str, bool | None] = field(default_factory=dict)


def parse_help(text: str) -> Help:
    text = _ANSI.sub("", text)
    sections: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if _SECTION.match(line):
            current = line.strip()
            continue
        sections.setdefault(current, []).append(line)
    name = next((line.strip() for line in sections.get("NAME", []) if line.strip()), "")
    path = tuple(name.split(" - ", 1)[0].split()[1:])
    synopsis = " ".join(sections.get("SYNOPSIS", [])).split()
    # A group's synopsis goes on with `GROUP | COMMAND` or `COMMAND` after its words.
    group = synopsis[len(path) + 1 : len(path) + 2] in (["GROUP"], ["COMMAND"])
    flags: dict[str, bool | None] = {}
    for title, lines in sections.items():
        if title == "GCLOUD WIDE FLAGS":
            for match in _WIDE_FLAG.finditer(" ".join(lines)):
                flags.setdefault(match.group(1), None)
        elif "FLAGS" in title or "ARGUMENTS" in title:
            for line in lines:
                found = _FLAG_LINE.match(line)
                if found:
                    negatable, flag, valued = found.groups()
                    flags[flag] = bool(flags.get(flag)) or bool(valued)
                    if negatable:
                        flags[f"no-{flag}"] = False
    return Help(path, group, flags)


def gcloud_commands(line: str) -> Iterator[list[str]]:
    """Each gcloud invocation in a shell line, as its words after `gcloud`, including those
    inside quoted strings (command substitutions, printed instructions)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as exc:
        raise ValueError(f"cannot parse shell line ({exc}): {line}") from None
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token == "gcloud":
            words = []
            for word in tokens[index + 1 :]:
                if word and set(word) <= _PUNCTUATION:
                    break
                words.append(word)
            yield words
        elif "gcloud " in token:
            for start in [m.start() for m in re.finditer(r"\bgcloud ", token)]:
                yield from gcloud_commands(token[start:])
        index += 1


def cloudbuild_script(text: str) -> list[str]:
    """The shell lines of cloudbuild.yaml's script steps (each `- |` block), with Cloud
    Build's `$$` escapes undone."""
    lines: list[str] = []
    indent = 0
    for line in text.splitlines():
        depth = len(line) - len(line.lstrip())
        if indent and line.strip() and depth < indent:
            indent = 0
        if indent:
            lines.append(line.strip().replace("$$", "$"))
        elif line.strip() == "- |":
            indent = depth + 2
    return [line for line in lines if line]


class HelpCache:
    """gcloud --help pages, fetched once per command path."""

    def __init__(self, gcloud: str | None = None, parallel: int = 4) -> None:
        found = gcloud or shutil.which("gcloud")
        if not found:
            raise GcloudMissingError(
                "gcloud is not installed: install the Google Cloud CLI to check the plan"
            )
        self.gcloud = found
        self.parallel = parallel
        self.leaves: dict[tuple[str, ...], Help] = {}
        self.failed: dict[tuple[str, ...], str] = {}
        self.calls = 0

    def _fetch(self, words: tuple[str, ...]) -> tuple[tuple[str, ...], Help | str]:
        env = {**os.environ, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "PAGER": "cat", **_QUIET}
        result = subprocess.run(
            [self.gcloud, *words, "--help"], capture_output=True, text=True, env=env, timeout=120
        )
        if result.returncode != 0:
            errors = _ANSI.sub("", result.stderr).strip().splitlines()
            return words, errors[-1] if errors else f"gcloud exited {result.returncode}"
        return words, parse_help(result.stdout)

    def lookup(self, words: tuple[str, ...]) -> Help | str | None:
        """The leaf command that `words` (the positional words of a call) start with."""
        for size in range(len(words), 0, -1):
            if words[:size] in self.leaves:
                return self.leaves[words[:size]]
        return self.failed.get(words)

    def load(self, calls: Iterable[tuple[str, ...]]) -> None:
        """Fetch the help of every call in rounds: one call per two-word group at a time,
        so calls sharing a command (`secrets describe A`, `secrets describe B`) cost one."""
        pending = list(dict.fromkeys(calls))
        with ThreadPoolExecutor(self.parallel) as pool:
            while True:
                pending = [c for c in pending if self.lookup(c) is None]
                if not pending:
                    return
                batch = list({c[:2]: c for c in reversed(pending)}.values())
                for words, help_or_error in pool.map(self._fetch, batch):
                    self.calls += 1
                    if isinstance(help_or_error, Help) and not help_or_error.group:
                        self.leaves[help_or_error.path] = help_or_error
                    elif isinstance(help_or_error, Help):
                        self.failed[words] = f"`gcloud {' '.join(words)}` names a command group"
                    else:
                        self.failed[words] = help_or_error or "gcloud refused the command"


def _positional(words: list[str]) -> tuple[str, ...]:
    found = []
    for word in words:
        if word.startswith("-"):
            break
        found.append(word)
    return tuple(found)


def _problems(words: list[str], help_: Help) -> Iterator[str]:
    for word in words[len(help_.path) :]:
        if not word.startswith("--"):
            continue
        name, has_value = word[2:].split("=", 1)[0], "=" in word
        if name not in help_.flags:
            yield f"`gcloud {' '.join(help_.path)}` has no flag --{name}"
        elif help_.flags[name] is False and has_value:
            yield f"--{name} of `gcloud {' '.join(help_.path)}` is a switch, given a value"
        elif help_.flags[name] is True and not has_value:
            yield f"--{name} of `gcloud {' '.join(help_.path)}` needs a value (--{name}=...)"


def check(lines: Iterable[tuple[str, str]], cache: HelpCache) -> list[str]:
    """Problems of `(origin, shell line)` pairs, each naming its origin and the line."""
    calls = [(origin, line, words) for origin, line in lines for words in gcloud_commands(line)]
    cache.load(_positional(words) for _, _, words in calls)
    problems = []
    for origin, line, words in calls:
        found = cache.lookup(_positional(words))
        if isinstance(found, Help):
            issues = list(_problems(words, found))
        else:
            issues = [found or f"unknown command `gcloud {' '.join(_positional(words))}`"]
        problems += [f"{origin}: {issue}\n    {line}" for issue in issues]
    return problems
