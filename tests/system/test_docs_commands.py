"""Every command the README and docs/ show still parses: each `runrun ...` (however it is
invoked) against runrun's own command line, each `./dev ...` against the commands `dev`
knows. A renamed flag or subcommand fails here before a reader finds out."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from runrun._cli import BUILT_IN, _parser
from shared.catchup._cli import parser as catch_up_parser
from tests.support.runrun_scenarios.corpus import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"```(?:sh|bash|console)\n(.*?)```", re.S)
RUNRUN = re.compile(r"^(?:\S*/)?(?:runrun|python3? -m runrun|\.venv/bin/python -m runrun)\b")
DEV_COMMANDS = set(re.findall(r"^  (\w+)\)$", (ROOT / "dev").read_text(), re.M))


def _commands(page: Path) -> list[str]:
    found = []
    for block in BLOCK.findall(page.read_text()):
        for line in block.replace("\\\n", " ").splitlines():
            # The first command of the line: before a comment, a pipe, a redirection or `&`.
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            words: list[str] = []
            for word in lexer:
                if word in ("|", "||", ">", ">>", "&", "&&", ";", "<"):
                    break
                words.append(word)
            while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words[0]):
                words.pop(0)  # VAR=value before the command
            if words:
                found.append(shlex.join(words))
    return found


CASES = [(page, command) for page in PAGES for command in _commands(page)]


def test_the_pages_show_runrun_commands() -> None:
    runrun = [c for _, c in CASES if RUNRUN.match(c)]
    assert len(runrun) >= 20 and DEV_COMMANDS >= {"serve", "test", "bench", "setup"}


@pytest.mark.parametrize(("page", "command"), CASES, ids=[f"{p.name}:{c[:60]}" for p, c in CASES])
def test_each_command_parses(page: Path, command: str) -> None:
    # A synopsis's optional part `[--flag VALUE ...]` is parsed as given.
    words = [w.strip("[]") for w in shlex.split(command) if w.strip("[]") not in ("", "...")]
    if words[0] == "./dev":
        assert words[1] in DEV_COMMANDS, command
        return
    if not RUNRUN.match(command):
        return  # another tool's command (gcloud, pip, curl...): not ours to parse
    argv = words[words.index("runrun") + 1 :] if "runrun" in words else words[1:]
    # The bundle's own commands (its hooks' `commands`) parse with their own parsers.
    library = {"catch-up": catch_up_parser}
    try:
        if argv and argv[0] not in BUILT_IN and not argv[0].startswith("-"):
            assert argv[0] in library, f"{page.name}: {command}: no such command"
            library[argv[0]]().parse_args(argv[1:])
            return
        _parser().parse_args(argv)
    except SystemExit as exc:
        assert exc.code == 0, f"{page.name}: {command}"  # only --help exits, with 0
