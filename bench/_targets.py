"""The performance targets P1-P6, achieved against target, from one invocation's figures.

Every ratio compares runs of the same invocation (same machine, same load around it): the
absolute figures move with whatever else the machine is doing, the ratios much less.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# (id, what, achieved from the results (None: not measured), comparison, target, unit)
_Row = tuple[str, str, Callable[[dict[str, Any]], float | None], str, float, str]


def _med(results: dict[str, Any], section: str, server: str, key: str) -> float | None:
    row = results.get(section, {}).get(server)
    if row is None or key not in row:
        return None
    value: float = row[key]["median"]
    return value


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def _vs_ff(section: str, key: str) -> Callable[[dict[str, Any]], float | None]:
    return lambda r: _ratio(
        _med(r, section, "runrun", key), _med(r, section, "functions_framework", key)
    )


def _cold(section: str) -> Callable[[dict[str, Any]], float | None]:
    def ratio(r: dict[str, Any]) -> float | None:
        cold = r.get(section)
        if not cold:
            return None
        return _ratio(cold["runrun"]["median"], cold["functions_framework"]["median"])

    return ratio


ROWS: list[_Row] = [
    (
        "P1",
        "req/s runrun / functions-framework, embedded",
        _vs_ff("embedded", "rps"),
        ">=",
        3.0,
        "x",
    ),
    (
        "P1",
        "req/s runrun / functions-framework, emulators",
        _vs_ff("emulators", "rps"),
        ">=",
        3.0,
        "x",
    ),
    (
        "P2",
        "req/s full path / hello world, runrun, embedded",
        lambda r: _ratio(
            _med(r, "embedded", "runrun", "rps"), _med(r, "embedded", "runrun_hello", "rps")
        ),
        ">=",
        0.6,
        "x",
    ),
    (
        "P3",
        "p99 runrun, embedded",
        lambda r: _med(r, "embedded", "runrun", "p99_ms"),
        "<=",
        50,
        "ms",
    ),
    (
        "P3",
        "p99 runrun, emulators",
        lambda r: _med(r, "emulators", "runrun", "p99_ms"),
        "<=",
        250,
        "ms",
    ),
    (
        "P4",
        "RSS runrun (all) / functions-framework (one), 1 CPU",
        _vs_ff("one_cpu", "rss_mib"),
        "<=",
        1.3,
        "x",
    ),
    (
        "P4",
        "PSS runrun (all) / functions-framework (one), 1 CPU",
        _vs_ff("one_cpu", "pss_mib"),
        "<=",
        1.3,
        "x",
    ),
    (
        "P4",
        "(idle, before load) RSS runrun / functions-framework, 1 CPU",
        _vs_ff("one_cpu", "idle_rss_mib"),
        "<=",
        1.3,
        "x",
    ),
    (
        "P4",
        "(idle, before load) PSS runrun / functions-framework, 1 CPU",
        _vs_ff("one_cpu", "idle_pss_mib"),
        "<=",
        1.3,
        "x",
    ),
    (
        "P5",
        "cold start runrun / functions-framework, 2 CPUs",
        _cold("cold_start_s"),
        "<=",
        1.1,
        "x",
    ),
    (
        "P5",
        "cold start runrun / functions-framework, 1 CPU",
        _cold("cold_start_one_cpu_s"),
        "<=",
        1.1,
        "x",
    ),
    (
        "P5",
        "(CPU s until the first answer) runrun / functions-framework, 1 CPU",
        _cold("cold_start_one_cpu_cpu_s"),
        "<=",
        1.1,
        "x",
    ),
    (
        "P6",
        "RPCs per delivery (receive side), runrun, emulators",
        lambda r: _med(r, "emulators", "runrun", "rpcs_per_delivery"),
        "<=",
        1.2,
        "",
    ),
    (
        "P6",
        "CPU per delivery runrun / functions-framework, emulators",
        _vs_ff("emulators", "cpu_ms_per_delivery"),
        "<=",
        0.5,
        "x",
    ),
    (
        "O2",
        "req/s metrics on / off, runrun, embedded (alternating runs)",
        lambda r: r.get("metrics_cost", {}).get("rps_ratio"),
        ">=",
        0.95,
        "x",
    ),
    (
        "O2",
        "CPU per delivery metrics on / off, runrun, embedded (alternating runs)",
        lambda r: r.get("metrics_cost", {}).get("cpu_ratio"),
        "<=",
        1.05,
        "x",
    ),
]


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for ident, what, achieved_from, comparison, target, unit in ROWS:
        achieved = achieved_from(results)
        met = None
        if achieved is not None:
            met = achieved >= target if comparison == ">=" else achieved <= target
        rows.append(
            {
                "id": ident,
                "figure": what,
                "achieved": achieved,
                "target": f"{comparison} {target:g}{unit}",
                "met": met,
            }
        )
    return rows


def targets_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| target | figure | achieved | target | met |", "|---|---|---|---|---|"]
    for row in rows:
        achieved = "not measured" if row["achieved"] is None else f"{row['achieved']:.2f}"
        met = {None: "-", True: "yes", False: "no"}[row["met"]]
        lines.append(f"| {row['id']} | {row['figure']} | {achieved} | {row['target']} | {met} |")
    return "\n".join(lines)
