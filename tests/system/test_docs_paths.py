"""The docs name files that exist: every repository path README.md, tests/README.md and
docs/*.md write, and every page they link to.

The rule, kept simple so that a reader can predict it:

- A repository path is a word that starts with one of the repository's top-level folders
  followed by a slash (`shared/receiving/`, `tests/system/test_docs_paths.py`), anywhere on
  the page: prose, inline code, code blocks. `<name>` and `*` are wildcards: the path holds
  when some file or folder matches (`shared/providers/<name>/`, `tests/reliability/test_*.py`).
- A bare module name in inline code (`_batching.py`) names a module somewhere in the
  repository.
- A relative link resolves from the page's own folder.
- The one exception is marked in the page itself: a worked example's `# file: PATH` line
  names a file the example creates (docs/extending.md).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", ROOT / "tests" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BARE_MODULE = re.compile(r"`([\w*]+\.py)`")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"```.*?```", re.S)
EXAMPLE_FILE = re.compile(r"^# file: .*$", re.M)
# Stale paths not fixed yet, each in its page: written down so that none is added unseen,
# and refused once its page no longer names it (drop the entry then).
NOT_YET_FIXED: dict[str, set[str]] = {}


TRACKED = subprocess.run(
    ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
).stdout.splitlines()
FOLDERS = sorted({line.split("/")[0] for line in TRACKED if "/" in line})
FOLDER = "|".join(map(re.escape, FOLDERS))
PATH = re.compile(rf"(?<![\w/.$-])((?:{FOLDER})/[\w/<>*.-]*)")


def _exists(path: str) -> bool:
    pattern = re.sub(r"<[^>]+>", "*", path).rstrip("/")
    if "*" in pattern:
        return any(ROOT.glob(pattern))
    return (ROOT / pattern).exists()


def _paths(text: str) -> set[str]:
    return {path.rstrip(".") for path in PATH.findall(EXAMPLE_FILE.sub("", text))}


def test_the_rule_sees_paths_where_pages_write_them() -> None:
    text = (
        "See `shared/receiving/_claims.py` and shared/nowhere/.\n"
        "```\n# file: shared/providers/acme/__init__.py\nrun tests/reliability/test_*.py\n```\n"
        "Not a path: my-project/shared/x.py, `$HOME/docs/x`."
    )
    assert _paths(text) == {
        "shared/receiving/_claims.py",
        "shared/nowhere/",
        "tests/reliability/test_*.py",
    }
    assert not _exists("shared/nowhere/")
    assert _exists("shared/providers/<name>/") and _exists("tests/reliability/test_*.py")


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_repository_path_a_page_names_exists(page: Path) -> None:
    name = str(page.relative_to(ROOT))
    missing = {path for path in _paths(page.read_text()) if not _exists(path)}
    known = NOT_YET_FIXED.get(name, set())
    assert known <= missing, f"{name} is fixed: drop {sorted(known - missing)} from NOT_YET_FIXED"
    assert not missing - known, f"{name} names paths that do not exist: {sorted(missing - known)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_bare_module_name_is_a_module_of_the_repository(page: Path) -> None:
    names = {Path(line).name for line in TRACKED}
    prose = FENCE.sub("", page.read_text())
    missing = sorted(
        name
        for name in set(BARE_MODULE.findall(prose))
        if not any(re.fullmatch(name.replace("*", ".*"), known) for known in names)
    )
    assert not missing, f"{page.relative_to(ROOT)} names modules that do not exist: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves(page: Path) -> None:
    prose = FENCE.sub("", page.read_text())
    links = [link.split("#")[0] for link in LINK.findall(prose) if ":" not in link]
    broken = sorted(link for link in links if link and not (page.parent / link).exists())
    assert not broken, f"{page.relative_to(ROOT)} links to files that do not exist: {broken}"
