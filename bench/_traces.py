"""The cost of traces: the full GitHub delivery path on the embedded backends with traces off
and with RUNRUN_TRACES=otlp, exporting every span to a real OTLP receiver in this process
(tests/support/otlp_receiver.py, outside the server's process tree), run after run in
alternation so that both see the same moments of a shared machine. Printed as ratios against
off: throughput, and CPU per delivery (the steadier of the two on a busy machine)."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable
from typing import Any

from ._servers import ROOT, runrun

LoadRuns = Callable[..., dict[str, Any]]


def traces_cost(load_runs: LoadRuns, runs: int, seconds: float) -> dict[str, Any]:
    """Off and on, alternating, `runs` times each; medians and the ratios on/off."""
    sys.path.insert(0, str(ROOT))
    from tests.support.otlp_receiver import otlp_receiver

    off_spec = runrun("github_webhook", label="traces off")
    on_spec = runrun("github_webhook", label="traces on (OTLP)")
    off: list[dict[str, Any]] = []
    on: list[dict[str, Any]] = []
    with otlp_receiver() as receiver:
        traced = {"RUNRUN_TRACES": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint}
        for _ in range(runs):
            off.append(load_runs(off_spec, {}, runs=1, seconds=seconds))
            on.append(load_runs(on_spec, traced, runs=1, seconds=seconds))
        spans = len(receiver.spans)
        refused = len(receiver.refused)

    def median(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(row[key]["median"] for row in rows)

    rps_off, rps_on = median(off, "rps"), median(on, "rps")
    cpu_off, cpu_on = median(off, "cpu_ms_per_delivery"), median(on, "cpu_ms_per_delivery")
    return {
        "rps_off": rps_off,
        "rps_on": rps_on,
        "cpu_ms_per_delivery_off": cpu_off,
        "cpu_ms_per_delivery_on": cpu_on,
        "p99_ms_off": median(off, "p99_ms"),
        "p99_ms_on": median(on, "p99_ms"),
        "rps_on_vs_off": rps_on / rps_off if rps_off else 0.0,
        "cpu_on_vs_off": cpu_on / cpu_off if cpu_off else 0.0,
        "spans_exported": spans,
        "exports_refused": refused,
        "runs": {"off": off, "on": on},
    }


def traces_line(found: dict[str, Any]) -> str:
    return (
        f"traces cost (RUNRUN_TRACES=otlp against off, alternating runs): throughput "
        f"{found['rps_on_vs_off']:.3f}x ({found['rps_on']:.0f} vs {found['rps_off']:.0f} req/s), "
        f"CPU per delivery {found['cpu_on_vs_off']:.3f}x ({found['cpu_ms_per_delivery_on']:.2f}"
        f" vs {found['cpu_ms_per_delivery_off']:.2f} ms), p99 {found['p99_ms_on']:.1f} vs "
        f"{found['p99_ms_off']:.1f} ms; {found['spans_exported']} spans exported"
    )
