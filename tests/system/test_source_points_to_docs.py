"""The source points readers to docs/, never to the README.

README.md is the newcomer's page and changes with what a newcomer needs; the reference
material a comment or a docstring can lean on is in docs/*.md. So no comment and no string
(docstrings included) in shared/, runrun/, functions/ or bench/ names a README: the word
itself is the whole rule, and nothing in those packages has another reason to write it.
"""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "runrun", "functions", "bench")
# Pointers not fixed yet, each in its module: written down so that none is added unseen,
# and refused once its module no longer has one (drop the entry then).
NOT_YET_FIXED: set[str] = set()
# Before Python 3.12 an f-string is one STRING token; from 3.12 its text is FSTRING_MIDDLE.
_TEXT_TOKENS = {tokenize.COMMENT, tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", -1)}


def _readme_mentions(source: str) -> list[int]:
    """The lines of the comments and strings of `source` that name a README."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [
        token.start[0]
        for token in tokens
        if token.type in _TEXT_TOKENS and "README" in token.string
    ]


def test_the_rule_finds_comments_and_docstrings_not_code() -> None:
    source = (
        '"""See README "Idempotency records"."""\n'
        "README_SIZE = 3  # a name, not a pointer\n"
        "x = 1  # details: README.md#configuration\n"
        'y = f"{x} README"\n'
    )
    assert _readme_mentions(source) == [1, 3, 4]


def test_no_source_points_to_a_readme() -> None:
    found: dict[str, list[int]] = {}
    for package in PACKAGES:
        for module in sorted((ROOT / package).rglob("*.py")):
            lines = _readme_mentions(module.read_text())
            if lines:
                found[module.relative_to(ROOT).as_posix()] = lines
    fixed = NOT_YET_FIXED - set(found)
    assert not fixed, f"no README pointer left in {sorted(fixed)}: drop it from NOT_YET_FIXED"
    pointers = {module: lines for module, lines in found.items() if module not in NOT_YET_FIXED}
    assert not pointers, f"source pointing to a README (point to docs/*.md): {pointers}"
