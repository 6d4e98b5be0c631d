"""The benchmark harness runs end to end (a few seconds, figures not judged here: tests never
time anything; `python -m bench` prints and records the real figures)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(
    shutil.which("wrk") is None,
    reason="BENCHMARK SMOKE SKIPPED: wrk is not installed (./dev test installs it as root)",
)
def test_bench_smoke_mode_produces_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    for section in ("functions_framework", "runrun", "runrun_one_worker", "runrun_hello"):
        row = figures["embedded"][section]
        assert row["rps"]["median"] > 0
        assert row["rss_mib"]["median"] > 0
    assert figures["embedded"]["runrun"]["non2xx_or_errors"]["median"] == 0
    assert set(figures["duplicates_x3"]) == {"functions_framework", "runrun"}
    assert figures["cold_start_s"]["runrun"]["median"] > 0
    assert figures["slowest_imports_ms"]
    assert set(figures["ratios"]) >= {"runrun_vs_ff_rps", "rss_runrun_all_vs_ff_one"}
    assert "| embedded | python -m runrun serve |" in result.stdout
    assert "inspector cost:" in result.stdout
