"""The cost of an optional feature (metrics on, say) on the full delivery path: the same
server measured with and without it in one invocation, one run of each in turn, so that
both see the same moments of the machine; reported as on/off ratios of throughput and of
CPU per delivery (the target: at most 5% either way)."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

# load_runs(spec, env_extra, runs=..., seconds=...) -> a row of figures (bench/__main__.py)
LoadRuns = Callable[..., dict[str, Any]]
FIGURES = ("rps", "p50_ms", "p99_ms", "cpu_ms_per_delivery")


def feature_cost(
    load_runs: LoadRuns, spec: Any, on_env: dict[str, str], *, runs: int, seconds: float
) -> dict[str, Any]:
    """Alternating runs off and on; their medians and the on/off ratios."""
    seen: dict[str, dict[str, list[float]]] = {"off": {}, "on": {}}
    for _ in range(runs):
        for name, env in (("off", {}), ("on", on_env)):
            row = load_runs(spec, env, runs=1, seconds=seconds)
            for figure in (*FIGURES, "non2xx_or_errors"):
                seen[name].setdefault(figure, []).append(row[figure]["median"])
    medians = {
        name: {figure: statistics.median(values) for figure, values in figures.items()}
        for name, figures in seen.items()
    }
    off, on = medians["off"], medians["on"]
    return {
        **medians,
        "runs": seen,
        "rps_ratio": on["rps"] / off["rps"] if off["rps"] else 0.0,
        "cpu_ratio": on["cpu_ms_per_delivery"] / off["cpu_ms_per_delivery"]
        if off["cpu_ms_per_delivery"]
        else 0.0,
    }


def cost_line(label: str, setting: str, cost: dict[str, Any]) -> str:
    """One line of the printed table."""
    off, on = cost["off"], cost["on"]
    return (
        f"{label} cost (alternating runs, medians): throughput on/off {cost['rps_ratio']:.3f} "
        f"({setting}: {on['rps']:.0f} req/s, off: {off['rps']:.0f} req/s), CPU per delivery "
        f"on/off {cost['cpu_ratio']:.3f} ({on['cpu_ms_per_delivery']:.2f} vs "
        f"{off['cpu_ms_per_delivery']:.2f} ms), p99 {on['p99_ms']:.1f} vs {off['p99_ms']:.1f} ms"
    )
