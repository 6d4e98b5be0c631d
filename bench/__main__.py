"""python -m bench [--smoke] [--runs N] [--seconds S] [--out FILE]

Measures, side by side in one invocation on this machine: throughput and latency of the full
GitHub delivery path under functions-framework and runrun (embedded backends, then the
emulators), a bare hello-world target on runrun's server, memory after load, cold start, and
the cost of duplicates. Prints a table and writes JSON. Figures are medians of --runs runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from ._coldstart import (
    cold_start,
    cold_start_seconds,
    compile_bytecode,
    first_delivery_ms,
    slowest_imports,
)
from ._cost import cost_line, feature_cost
from ._load import SECRET, dialogflow_requests, hello_requests, run_wrk, signed_requests
from ._rpc_proxy import CountingProxy
from ._servers import ROOT, RunningServer, ServerSpec, functions_framework, runrun
from ._targets import targets, targets_table
from ._tasks import tasks_env
from ._traces import traces_cost, traces_line

HELLO_DIR = Path(__file__).resolve().parent / "hello"
CONNECTIONS = 80
INSPECTOR_ON = {"RUNRUN_INSPECT": "1", "RUNRUN_INSPECT_TOKEN": "bench-inspector-token"}
METRICS_ON = {"RUNRUN_METRICS": "1", "RUNRUN_METRICS_TOKEN": "bench-metrics-token"}


def base_env(state_dir: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("RUNRUN_", "FIRESTORE_EMULATOR", "PUBSUB_EMULATOR", "CLOUD_TASKS_EMULATOR", "K_")
        )
    }
    env.update(GITHUB_WEBHOOK_SECRET=SECRET, RUNRUN_STATE_DIR=state_dir, PYTHONPATH=str(ROOT))
    # The delivery path itself, for both servers: the inspector's activity records are
    # measured on their own (`inspector_cost`), against this.
    env["RUNRUN_INSPECT"] = "0"
    env.update(extra or {})
    return env


def spread(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def load_runs(
    spec: ServerSpec,
    env_extra: dict[str, str],
    *,
    runs: int,
    seconds: float,
    copies: int = 1,
    hello: bool = False,
    dialogflow: bool = False,
    proxies: list[CountingProxy] | None = None,
) -> dict[str, Any]:
    rps, p50, p99, rss, pss, gen_cpu, non2xx = [], [], [], [], [], [], []
    cpu_ms, rpcs, calls, idle_rss, idle_pss = [], [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as state:
            batch_dir = Path(state) / "batch-sizes"
            env = base_env(state, {**env_extra, "RUNRUN_BATCH_SIZES_DIR": str(batch_dir)})
            server = RunningServer(spec, env)
            try:
                server.wait_ready()
                server.wait_idle()
                idle_rss.append(server.rss_bytes() / 2**20)
                idle_pss.append(server.pss_bytes() / 2**20)
                # Enough distinct deliveries that none repeats unless asked to.
                count = max(2000, int(seconds * 9000 / copies))
                requests = hello_requests(64) if hello else signed_requests(count, copies)
                if dialogflow:
                    requests = dialogflow_requests(count)
                run_wrk(server.base_url, spec.path, requests, seconds=1, connections=CONNECTIONS)
                if dialogflow:
                    requests = dialogflow_requests(count)  # fresh calls: none replayed
                elif not hello:
                    requests = signed_requests(count, copies)  # the warm-up used the others
                # The run's CPU and RPCs: from idle after the warm-up to idle after the run, so
                # what the requests in flight at wrk's stop (and the queued processing behind
                # them) cost is counted, divided by the requests wrk saw answered (an upper
                # bound per delivery, by at most 80 requests' worth).
                server.wait_idle()
                for proxy in proxies or []:
                    proxy.counts.reset()
                cpu_before = server.cpu_seconds()
                result = run_wrk(
                    server.base_url, spec.path, requests, seconds=seconds, connections=CONNECTIONS
                )
                server.wait_idle()
                cpu = server.cpu_seconds() - cpu_before
                seen = [proxy.counts.snapshot() for proxy in proxies or []]
                if server.process.poll() is not None or result.socket_errors:
                    print(
                        f"{spec.name}: server failed under load "
                        f"(exit {server.process.poll()}, {result.socket_errors} socket errors):"
                        f"\n{server.log_tail()}",
                        file=sys.stderr,
                    )
                rss.append(server.rss_bytes() / 2**20)
                pss.append(server.pss_bytes() / 2**20)
            finally:
                server.stop()
            batches = read_batch_sizes(batch_dir)
        answered = max(1, result.requests)
        cpu_ms.append(1000 * cpu / answered)
        if proxies:
            calls.append(merge_counts(seen))
            rpcs.append(sum(calls[-1]["calls"].values()) / answered)
        rps.append(result.rps)
        p50.append(result.p50_ms)
        p99.append(result.p99_ms)
        gen_cpu.append(result.generator_cpu)
        non2xx.append(float(result.non2xx + result.socket_errors))
    return {
        "server": spec.name,
        "rps": spread(rps),
        "p50_ms": spread(p50),
        "p99_ms": spread(p99),
        "rss_mib": spread(rss),
        "pss_mib": spread(pss),
        # Started and answered once, before any load: what the instance holds while idle.
        "idle_rss_mib": spread(idle_rss),
        "idle_pss_mib": spread(idle_pss),
        "generator_cpu_cores": spread(gen_cpu),
        "non2xx_or_errors": spread(non2xx),
        # Server process tree, user + system, per request answered (emulators and wrk excluded).
        "cpu_ms_per_delivery": spread(cpu_ms),
        **({"rpcs_per_delivery": spread(rpcs), "rpcs_last_run": calls[-1]} if calls else {}),
        **({"in_process_batch_sizes_last_run": batches} if batches else {}),
    }


def merge_counts(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """One emulator proxy's counts after another, as one record (method paths differ)."""
    merged: dict[str, Any] = {"calls": {}, "batch_sizes": {}}
    for snapshot in snapshots:
        merged["calls"].update(snapshot["calls"])
        merged["batch_sizes"].update(snapshot["batch_sizes"])
    return merged


def read_batch_sizes(directory: Path) -> dict[str, dict[str, int]]:
    """What the workers' stores and publishers recorded (`shared.backends._batch_sizes`), summed."""
    total: dict[str, dict[str, int]] = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        for kind, sizes in json.loads(path.read_text()).items():
            for size, count in sizes.items():
                total.setdefault(kind, {})
                total[kind][size] = total[kind].get(size, 0) + count
    return total


def emulator_env() -> tuple[Any, list[CountingProxy], dict[str, str]] | None:
    sys.path.insert(0, str(ROOT))
    from tests.support.emulators import EmulatorProcesses

    processes = EmulatorProcesses(Path(tempfile.mkdtemp()))
    try:
        running = processes.start()
    except RuntimeError as exc:
        print(f"emulators unavailable, skipping that part: {exc}", file=sys.stderr)
        processes.stop()
        return None
    # Both servers reach the emulators through counting proxies (`_rpc_proxy`).
    proxies = [CountingProxy(running.firestore_host), CountingProxy(running.pubsub_host)]
    return (
        processes,
        proxies,
        {
            "FIRESTORE_EMULATOR_HOST": proxies[0].address,
            "PUBSUB_EMULATOR_HOST": proxies[1].address,
            "GOOGLE_CLOUD_PROJECT": "runrun-bench",
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="a few seconds: proves the harness")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cold-runs", type=int, default=5)
    parser.add_argument("--no-emulators", action="store_true")
    parser.add_argument(
        "--handoff", action="store_true", help="only runrun's Pub/Sub vs Cloud Tasks hand-off"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    if args.smoke:
        args.runs, args.seconds, args.cold_runs, args.no_emulators = 1, 1.0, 1, True

    ff = functions_framework("github_webhook")
    rr = runrun("github_webhook")
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {
            name: metadata.version(name)
            for name in ("functions-framework", "granian", "gunicorn", "flask")
        },
        "settings": {"connections": CONNECTIONS, "runs": args.runs, "seconds": args.seconds},
    }
    started = time.perf_counter()
    if args.handoff:
        return handoff_only(rr, args.runs, args.seconds)
    results["embedded"] = {
        "functions_framework": load_runs(ff, {}, runs=args.runs, seconds=args.seconds),
        "runrun": load_runs(rr, {}, runs=args.runs, seconds=args.seconds),
        # The memory trade-off of the default (one worker per CPU), shown rather than hidden.
        "runrun_one_worker": load_runs(
            runrun("github_webhook", extra=["--workers", "1"], label="--workers 1"),
            {},
            runs=args.runs,
            seconds=args.seconds,
        ),
        # The same path with the inspector recording every delivery and processor run.
        "runrun_inspector_on": load_runs(
            runrun("github_webhook", label="inspector on"),
            INSPECTOR_ON,
            runs=args.runs,
            seconds=args.seconds,
        ),
        "runrun_hello": load_runs(
            runrun("hello", cwd=HELLO_DIR, label="hello world"),
            {},
            runs=args.runs,
            seconds=args.seconds,
            hello=True,
        ),
        # An async target (`functions_framework.aio`) in the same process as the synchronous
        # `hello`, through the ASGI-in-WSGI adapter, against functions-framework's own
        # server for it (`--asgi`): the cost of the async design (docs/parity.md, "Async targets").
        "runrun_hello_async": load_runs(
            runrun("hello_async", cwd=HELLO_DIR, label="async hello world"),
            {},
            runs=args.runs,
            seconds=args.seconds,
            hello=True,
        ),
        "functions_framework_hello_async": load_runs(
            functions_framework("hello_async", cwd=HELLO_DIR, asgi=True),
            {},
            runs=args.runs,
            seconds=args.seconds,
            hello=True,
        ),
    }
    # The same path with traces on, beside off, alternating (bench/_traces.py).
    results["traces"] = traces_cost(load_runs, args.runs, args.seconds)
    # The full path with /_runrun/metrics counting every delivery and run in every worker.
    results["metrics_cost"] = feature_cost(
        load_runs,
        runrun("github_webhook", label="metrics on/off"),
        METRICS_ON,
        runs=args.runs,
        seconds=args.seconds,
    )
    # The synchronous path: the agent waits for the handler (order-status, embedded store).
    results["dialogflow"] = load_runs(
        runrun("dialogflow_webhook", label="dialogflow_webhook"),
        {"DIALOGFLOW_WEBHOOK_SECRET": SECRET},
        runs=args.runs,
        seconds=args.seconds,
        dialogflow=True,
    )
    # Cloud Run's default instance: one vCPU. runrun sizes its workers by the CPUs it may use.
    results["one_cpu"] = {
        "functions_framework": load_runs(
            pinned(ff, "one CPU"), {}, runs=args.runs, seconds=args.seconds
        ),
        "runrun": load_runs(pinned(rr, "one CPU"), {}, runs=args.runs, seconds=args.seconds),
    }
    results["duplicates_x3"] = {
        "functions_framework": load_runs(ff, {}, runs=args.runs, seconds=args.seconds, copies=3),
        "runrun": load_runs(rr, {}, runs=args.runs, seconds=args.seconds, copies=3),
    }
    with tempfile.TemporaryDirectory() as state:
        results["first_delivery_ms"] = {"embedded": first_deliveries(ff, rr, base_env(state), args)}
    if not args.no_emulators:
        found = emulator_env()
        if found is not None:
            processes, proxies, env = found
            try:
                results["emulators"] = {
                    name: load_runs(
                        spec, env, runs=args.runs, seconds=args.seconds, proxies=proxies
                    )
                    for name, spec in (("functions_framework", ff), ("runrun", rr))
                }
                results["emulators"].update(cloud_tasks_runs(env, args.runs, args.seconds))
                results["first_delivery_ms"]["emulators"] = first_deliveries(ff, rr, env, args)
            finally:
                for proxy in proxies:
                    proxy.close()
                processes.stop()
    compile_bytecode()
    with tempfile.TemporaryDirectory() as state:
        env = base_env(state)
        results["cold_start_s"] = {
            "functions_framework": spread(
                [cold_start_seconds(ff, env) for _ in range(args.cold_runs)]
            ),
            "runrun": spread([cold_start_seconds(rr, env) for _ in range(args.cold_runs)]),
        }
        # Alternating, so that both servers see the same moments of the machine's load.
        walls: dict[str, list[float]] = {"functions_framework": [], "runrun": []}
        cpus: dict[str, list[float]] = {"functions_framework": [], "runrun": []}
        for _ in range(args.cold_runs):
            for name, spec in (("functions_framework", ff), ("runrun", rr)):
                wall, cpu = cold_start(pinned(spec, "one CPU"), env)
                walls[name].append(wall)
                cpus[name].append(cpu)
        results["cold_start_one_cpu_s"] = {name: spread(values) for name, values in walls.items()}
        results["cold_start_one_cpu_cpu_s"] = {name: spread(v) for name, v in cpus.items()}
        results["slowest_imports_ms"] = slowest_imports(env)
    results["processors"] = processor_times(20 if args.smoke else 200)
    results["ratios"] = ratios(results)
    results["targets"] = targets(results)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(table(results))
    dialogflow = results["dialogflow"]
    print(
        f"\ndialogflow_webhook p99 at {CONNECTIONS} connections (embedded store, order-status):"
        f" {dialogflow['p99_ms']['median']:.1f} ms (agent timeout 5000 ms),"
        f" {dialogflow['rps']['median']:.0f} req/s,"
        f" non-2xx {dialogflow['non2xx_or_errors']['median']:.0f}"
    )
    print(f"\nJSON: {args.out}")
    return 0


def processor_times(count: int) -> dict[str, Any]:
    """The processors' p50 per delivery, measured in a process of its own (bench/_processors)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench._processors", str(count)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"deliveries"')]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr or done.stdout).strip()[-500:]}
    return dict(json.loads(lines[-1]))


def cloud_tasks_runs(env: dict[str, str], runs: int, seconds: float) -> dict[str, Any]:
    """runrun handing off to the Cloud Tasks emulator (store still on Firestore's)."""
    found = tasks_env()
    if found is None:
        return {}
    emulator, tasks = found
    spec = runrun("github_webhook", label="Cloud Tasks hand-off")
    try:
        return {"runrun_cloud_tasks": load_runs(spec, {**env, **tasks}, runs=runs, seconds=seconds)}
    finally:
        emulator.stop()


def handoff_only(rr: ServerSpec, runs: int, seconds: float) -> int:
    """Pub/Sub beside Cloud Tasks, on the emulators, through runrun at 80 connections."""
    found = emulator_env()
    if found is None:
        return 1
    processes, proxies, env = found
    try:
        rows = {"runrun_pubsub": load_runs(rr, env, runs=runs, seconds=seconds)}
        rows.update(cloud_tasks_runs(env, runs, seconds))
    finally:
        for proxy in proxies:
            proxy.close()
        processes.stop()
    print(f"| hand-off, emulators, {CONNECTIONS} conns | req/s | p50 ms | p99 ms | non-2xx |")
    print("|---|---|---|---|---|")
    for row in rows.values():
        print(
            f"| {row['server']} | {row['rps']['median']:.0f} | {row['p50_ms']['median']:.1f} | "
            f"{row['p99_ms']['median']:.1f} | {row['non2xx_or_errors']['median']:.0f} |"
        )
    return 0


def first_deliveries(
    ff: ServerSpec, rr: ServerSpec, env_extra: dict[str, str], args: argparse.Namespace
) -> dict[str, dict[str, float]]:
    """Each server's first delivery after a fresh start (a new process and state every time)."""

    def first(spec: ServerSpec) -> float:
        with tempfile.TemporaryDirectory() as state:
            return first_delivery_ms(spec, base_env(state, env_extra))

    return {
        "functions_framework": spread([first(ff) for _ in range(args.cold_runs)]),
        "runrun": spread([first(rr) for _ in range(args.cold_runs)]),
    }


def pinned(spec: ServerSpec, label: str, cpus: str = "0") -> ServerSpec:
    return replace(spec, name=f"{spec.name} [{label}]", cpus=cpus)


def ratios(results: dict[str, Any]) -> dict[str, float]:
    emb = results["embedded"]
    med = lambda section, key: section[key]["median"]  # noqa: E731
    return {
        "runrun_vs_ff_rps": med(emb["runrun"], "rps") / med(emb["functions_framework"], "rps"),
        "runrun_full_vs_hello_rps": med(emb["runrun"], "rps") / med(emb["runrun_hello"], "rps"),
        "runrun_async_vs_sync_hello_rps": med(emb["runrun_hello_async"], "rps")
        / med(emb["runrun_hello"], "rps"),
        "runrun_async_vs_ff_asgi_hello_rps": med(emb["runrun_hello_async"], "rps")
        / med(emb["functions_framework_hello_async"], "rps"),
        "inspector_cost_pct": inspector_cost_pct(results),
        "traces_rps_on_vs_off": results["traces"]["rps_on_vs_off"],
        "traces_cpu_on_vs_off": results["traces"]["cpu_on_vs_off"],
        "metrics_on_vs_off_rps": results["metrics_cost"]["rps_ratio"],
        "metrics_on_vs_off_cpu_per_delivery": results["metrics_cost"]["cpu_ratio"],
        "runrun_p99_ms": med(emb["runrun"], "p99_ms"),
        "rss_runrun_all_vs_ff_one": med(emb["runrun"], "rss_mib")
        / med(emb["functions_framework"], "rss_mib"),
        "pss_runrun_all_vs_ff_one": med(emb["runrun"], "pss_mib")
        / med(emb["functions_framework"], "pss_mib"),
        "rss_runrun_one_worker_vs_ff_one": med(emb["runrun_one_worker"], "rss_mib")
        / med(emb["functions_framework"], "rss_mib"),
        "cold_start_runrun_vs_ff": results["cold_start_s"]["runrun"]["median"]
        / results["cold_start_s"]["functions_framework"]["median"],
    }


def inspector_cost_pct(results: dict[str, Any]) -> float:
    """Throughput lost to the inspector's recording, in percent of the path without it."""
    off = results["embedded"]["runrun"]["rps"]["median"]
    on = results["embedded"]["runrun_inspector_on"]["rps"]["median"]
    return 100.0 * (off - on) / off if off else 0.0


def table(results: dict[str, Any]) -> str:
    def fmt(stat: dict[str, float], digits: int = 0) -> str:
        return f"{stat['median']:.{digits}f} ({stat['min']:.{digits}f}-{stat['max']:.{digits}f})"

    lines = [
        f"runrun benchmark {results['date']}  cpus={results['machine']['cpus']}  "
        f"python={results['machine']['python']}  "
        + "  ".join(f"{k}={v}" for k, v in results["versions"].items()),
        "",
        "| scenario | server | req/s | p50 ms | p99 ms | RSS MiB | PSS MiB | CPU ms/delivery "
        "| wrk cores | non-2xx |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for section in ("embedded", "one_cpu", "duplicates_x3", "emulators"):
        for row in results.get(section, {}).values():
            lines.append(
                f"| {section} | {row['server']} | {fmt(row['rps'])} | {fmt(row['p50_ms'], 1)} | "
                f"{fmt(row['p99_ms'], 1)} | {fmt(row['rss_mib'])} | {fmt(row['pss_mib'])} | "
                f"{fmt(row['cpu_ms_per_delivery'], 2)} | "
                f"{fmt(row['generator_cpu_cores'], 2)} | {fmt(row['non2xx_or_errors'])} |"
            )
    lines += rpc_lines(results)
    cold, cold1 = results["cold_start_s"], results["cold_start_one_cpu_s"]
    lines += [
        "",
        f"cold start s: functions-framework {fmt(cold['functions_framework'], 3)}, "
        f"runrun {fmt(cold['runrun'], 3)}",
        *first_delivery_lines(results, fmt),
        f"runrun {fmt(cold['runrun'], 3)}; at 1 CPU: functions-framework "
        f"{fmt(cold1['functions_framework'], 3)}, runrun {fmt(cold1['runrun'], 3)}; "
        "CPU s used until then at 1 CPU: functions-framework "
        f"{fmt(results['cold_start_one_cpu_cpu_s']['functions_framework'], 2)}, runrun "
        f"{fmt(results['cold_start_one_cpu_cpu_s']['runrun'], 2)}",
        "idle memory (started, before load) RSS/PSS MiB: "
        + ", ".join(
            f"{row['server']} {row['idle_rss_mib']['median']:.0f}/"
            f"{row['idle_pss_mib']['median']:.0f}"
            for row in results["one_cpu"].values()
        ),
        f"inspector cost: {results['ratios']['inspector_cost_pct']:.1f}% of full-path "
        f"throughput (RUNRUN_INSPECT=1: "
        f"{results['embedded']['runrun_inspector_on']['rps']['median']:.0f} req/s, "
        f"RUNRUN_INSPECT=0: {results['embedded']['runrun']['rps']['median']:.0f} req/s)",
        traces_line(results["traces"]),
        cost_line("metrics", "RUNRUN_METRICS=1", results["metrics_cost"]),
        f"async hello world: runrun {fmt(results['embedded']['runrun_hello_async']['rps'])} "
        f"req/s (sync hello {fmt(results['embedded']['runrun_hello']['rps'])}), "
        "functions-framework --asgi "
        f"{fmt(results['embedded']['functions_framework_hello_async']['rps'])} req/s",
        "slowest imports (ms, cumulative): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in results["slowest_imports_ms"][:8]),
        "",
        "processors p50 ms per delivery: " + processors_line(results["processors"]),
        "",
        "ratios: " + ", ".join(f"{k}={v:.2f}" for k, v in results["ratios"].items()),
        "",
        targets_table(results["targets"]),
    ]
    return "\n".join(lines)


def processors_line(found: dict[str, Any]) -> str:
    if "error" in found:
        return f"not measured ({found['error']})"
    line = ", ".join(f"{name} {ms:.2f}" for name, ms in sorted(found["p50_ms"].items()))
    line += f"; whole process_event {found['process_event_p50_ms']:.2f}"
    line += f" ({found['deliveries']} deliveries)"
    if "bigquery_skipped" in found:
        line += f"; bigquery skipped: {found['bigquery_skipped']}"
    return line


def first_delivery_lines(results: dict[str, Any], fmt: Any) -> list[str]:
    """A new process's first delivery beside the same server's steady-state p50."""
    lines = []
    for scenario, servers in results.get("first_delivery_ms", {}).items():
        steady = results.get(scenario, {})
        parts = []
        for name, first in servers.items():
            row = steady.get(name)
            p50 = fmt(row["p50_ms"], 1) if row else "-"
            parts.append(f"{row['server'] if row else name} {fmt(first, 1)} (steady p50 {p50})")
        lines.append(f"first delivery ms, new process, {scenario}: " + "; ".join(parts))
    return lines


def rpc_lines(results: dict[str, Any]) -> list[str]:
    """RPCs per delivery seen at the emulators, per method, and the batch sizes seen."""
    lines = []
    for name, row in results.get("emulators", {}).items():
        if "rpcs_per_delivery" not in row:
            continue
        last = row["rpcs_last_run"]
        methods = ", ".join(
            f"{method.rsplit('.', 1)[-1]} {count}"
            for method, count in sorted(last["calls"].items())
        )
        sizes = "; ".join(
            f"{method.rsplit('/', 1)[-1]} {{size: calls}} {counts}"
            for method, counts in last["batch_sizes"].items()
        )
        lines.append(
            f"emulators, {name}: {row['rpcs_per_delivery']['median']:.2f} RPCs per delivery "
            f"(last run: {methods}); batch sizes: {sizes or 'none'}"
        )
    for section in ("embedded", "one_cpu", "emulators"):
        for name, row in results.get(section, {}).items():
            if row.get("in_process_batch_sizes_last_run"):
                lines.append(
                    f"{section}, {name}: batch sizes recorded in process "
                    f"{row['in_process_batch_sizes_last_run']}"
                )
    return [""] + lines if lines else []


if __name__ == "__main__":
    raise SystemExit(main())
