"""The benchmark harness runs end to end (a few seconds, figures not judged here: tests never
time anything; `python -m bench` prints and records the real figures)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
    sections = (
        "functions_framework",
        "runrun",
        "runrun_one_worker",
        "runrun_hello",
        "runrun_hello_async",
        "functions_framework_hello_async",
    )
    for section in sections:
        row = figures["embedded"][section]
        assert row["rps"]["median"] > 0
        assert row["rss_mib"]["median"] > 0
    for section in ("runrun", "runrun_hello_async", "functions_framework_hello_async"):
        assert figures["embedded"][section]["non2xx_or_errors"]["median"] == 0, section
    assert set(figures["duplicates_x3"]) == {"functions_framework", "runrun"}
    assert figures["cold_start_s"]["runrun"]["median"] > 0
    assert figures["slowest_imports_ms"]
    assert set(figures["ratios"]) >= {"runrun_vs_ff_rps", "rss_runrun_all_vs_ff_one"}
    assert "| embedded | python -m runrun serve |" in result.stdout
    assert {"store", "notify"} <= set(figures["processors"]["p50_ms"])
    assert "processors p50 ms per delivery: " in result.stdout
    assert "inspector cost:" in result.stdout
    # Traces on beside off, in the same invocation: every span really exported.
    assert "traces cost (RUNRUN_TRACES=otlp against off" in result.stdout
    assert figures["traces"]["spans_exported"] > 0 and figures["traces"]["exports_refused"] == 0
    assert set(figures["ratios"]) >= {"traces_rps_on_vs_off", "traces_cpu_on_vs_off"}
    assert "metrics cost (alternating runs, medians): throughput on/off " in result.stdout
    cost = figures["metrics_cost"]
    assert cost["on"]["rps"] > 0 and cost["off"]["rps"] > 0
    assert cost["on"]["non2xx_or_errors"] == 0
    assert {"metrics_on_vs_off_rps", "metrics_on_vs_off_cpu_per_delivery"} <= set(figures["ratios"])
    assert "async hello world: runrun" in result.stdout
    assert set(figures["ratios"]) >= {"runrun_async_vs_sync_hello_rps"}
    # CPU per delivery, one CPU, and the targets table (P1-P6), all from the same invocation.
    assert figures["embedded"]["runrun"]["cpu_ms_per_delivery"]["median"] > 0
    assert set(figures["one_cpu"]) == {"functions_framework", "runrun"}
    assert figures["one_cpu"]["runrun"]["pss_mib"]["median"] > 0
    assert figures["cold_start_one_cpu_s"]["runrun"]["median"] > 0
    assert {row["id"] for row in figures["targets"]} == {"P1", "P2", "P3", "P4", "P5", "P6", "O2"}
    assert "| P4 | RSS runrun (all) / functions-framework (one), 1 CPU |" in result.stdout
