"""The architecture is checked, not hoped for: the import contracts of pyproject.toml bite on
a back edge and on a circle (each planted in a copy of the packages), and no module or
function outgrows the sizes a reader can hold (300 lines a module, 60 a function)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("shared", "runrun", "functions")
MODULE_LINES, FUNCTION_LINES = 300, 60
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def sources() -> list[Path]:
    return sorted(p for package in CHECKED for p in (ROOT / package).rglob("*.py"))


def test_no_module_over_300_lines_and_no_function_over_60() -> None:
    too_long = []
    for path in sources():
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT)
        if (lines := len(text.splitlines())) > MODULE_LINES:
            too_long.append(f"{name}: {lines} lines (at most {MODULE_LINES})")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LINES:
                    too_long.append(
                        f"{name}:{node.lineno} {node.name}(): {length} lines"
                        f" (at most {FUNCTION_LINES})"
                    )
    assert not too_long, "\n".join(too_long)


# (module to plant the import in, the import, the contract that must break)
PLANTED = [
    pytest.param(
        "shared/backends/_planted.py",
        "import shared.receiving\n",
        "backends below both",
        id="back-edge-in-shared",
    ),
    pytest.param(
        "shared/_planted.py", "import functions\n", "shared never imports functions", id="shared-up"
    ),
    pytest.param(
        "runrun/_env.py",
        "from . import _cli\n",
        "no circles between sibling modules",
        id="circle-in-runrun",
    ),
    pytest.param("runrun/_planted.py", "import shared\n", "runrun knows nothing", id="runrun-lib"),
    pytest.param(
        "shared/_planted2.py", "import bench\n", "nothing imports the benchmark", id="bench"
    ),
]


@pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="lint-imports is not installed")
@pytest.mark.parametrize(("module", "line", "contract"), PLANTED)
def test_a_planted_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    for package in (*CHECKED, "bench"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    planted = tmp_path / module
    planted.write_text(
        (planted.read_text(encoding="utf-8") if planted.exists() else "") + line, encoding="utf-8"
    )

    def lint() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LINT_IMPORTS), "--no-logo", "--no-cache"],
            cwd=tmp_path,
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=300,
        )

    broken = lint()
    assert broken.returncode != 0, broken.stdout
    report = " ".join(broken.stdout.split())
    assert "BROKEN" in report and contract in report.split("Broken contracts")[-1], report
