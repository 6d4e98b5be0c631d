"""tests/README.md's map, kept honest: every tests folder and every helper has a row, every
path a row names exists, every package of the project is named by a row, and every test
module sits in a package folder (so that two folders may hold modules of the same name)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
SUPPORT = TESTS / "support"
README = TESTS / "README.md"
PACKAGES_HEADING = "## Tests, by the package they test"
HELPERS_HEADING = "## Helpers, in `tests/support/`"


def _rows(heading: str) -> list[list[str]]:
    """The cells of each row of the table under `heading` (its header and rule left out)."""
    lines = README.read_text().splitlines()
    assert heading in lines, f"tests/README.md has no section {heading!r}"
    rows: list[list[str]] = []
    for line in lines[lines.index(heading) + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    assert len(rows) > 2, f"no table under {heading!r}"
    return rows[2:]


def _paths(cell: str) -> list[str]:
    """The paths a map cell names: each between backticks."""
    return re.findall(r"`([^`]+)`", cell)


def _package_rows() -> list[tuple[list[str], list[str]]]:
    return [(_paths(row[0]), _paths(row[1])) for row in _rows(PACKAGES_HEADING)]


def _helper_paths() -> set[str]:
    return {path for row in _rows(HELPERS_HEADING) for path in _paths(row[0])}


def _relative(path: Path) -> str:
    """A repository path as the map writes it: folders end with a slash."""
    text = path.relative_to(ROOT).as_posix()
    return f"{text}/" if path.is_dir() else text


def _test_modules() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if SUPPORT not in p.parents)


def test_every_path_a_row_names_exists() -> None:
    named = [path for modules, tests in _package_rows() for path in modules + tests]
    missing = [path for path in [*named, *_helper_paths()] if not (ROOT / path).exists()]
    assert not missing, f"tests/README.md names paths that do not exist: {missing}"


def test_rows_name_tests_and_helpers_under_their_folders() -> None:
    misplaced = [
        path for _, tests in _package_rows() for path in tests if not path.startswith("tests/")
    ]
    misplaced += [path for path in _helper_paths() if not path.startswith("tests/support/")]
    assert not misplaced, f"rows naming paths outside their folder: {misplaced}"


def test_every_tests_folder_has_a_row() -> None:
    folders = {_relative(module.parent) for module in _test_modules()}
    with_row = {path for _, tests in _package_rows() for path in tests}
    assert not folders - with_row, f"tests folders without a row: {sorted(folders - with_row)}"


def test_every_helper_has_a_row() -> None:
    helpers = {
        _relative(entry)
        for entry in SUPPORT.iterdir()
        if entry.name not in {"__init__.py", "__pycache__"}
    }
    helper_rows = _helper_paths()
    assert not helpers - helper_rows, f"helpers without a row: {sorted(helpers - helper_rows)}"


def test_every_package_is_named_by_a_row() -> None:
    packages = {f"{name}/" for name in ("shared", "runrun", "functions", "bench")}
    for top in ("shared", "runrun"):
        packages |= {_relative(init.parent) for init in (ROOT / top).glob("*/__init__.py")}
    named = {path for modules, _ in _package_rows() for path in modules}
    assert not packages - named, f"packages without a row: {sorted(packages - named)}"


def test_every_test_module_sits_in_a_package_folder() -> None:
    at_the_top = [module.name for module in _test_modules() if module.parent == TESTS]
    assert not at_the_top, f"test modules directly in tests/ (give them a folder): {at_the_top}"
    without_init = sorted(
        {
            _relative(TESTS / folder)
            for module in _test_modules()
            for folder in module.relative_to(TESTS).parents
            if not (TESTS / folder / "__init__.py").exists()
        }
    )
    assert not without_init, f"test folders without __init__.py: {without_init}"
