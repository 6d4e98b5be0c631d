"""What a SIGKILLed instance leaves behind, read from the logs and the receivers: the runs
its log names, the other instances' takeovers of them, and the runs repeated (counted by the
receivers that can count). For tests/test_reliability_instances.py; holds no tests itself."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from shared.backends.idempotency import document_id
from tests.support.reliability_cluster import Cluster, firestore_documents, run_lines
from tests.support.runrun_scenarios.processes import Server

TAKEOVER_LIMIT_SECONDS = 15


def _time_of(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(line["time"])).timestamp()


def _record_id(pair: tuple[str, str]) -> str:
    delivery_id, processor = pair
    return document_id("process_delivery", f"github_webhook:{delivery_id}:{processor}")


def _runs_of(victim: Server) -> tuple[dict[tuple[str, str], float], set[tuple[str, str]]]:
    """The runs the killed instance started, from its own log: (delivery, processor) ->
    when; and the ones it said it finished (`processor ran` is written before the run's
    completion is recorded, so a run may be finished and still repeated after its lease)."""
    started: dict[tuple[str, str], float] = {}
    finished: set[tuple[str, str]] = set()
    for line in run_lines(victim):
        pair = (str(line.get("delivery_id")), str(line.get("processor")))
        if line.get("message") == "processor started":
            started[pair] = _time_of(line)
        elif line.get("message") in ("processor ran", "processor failed", "processor backs off"):
            finished.add(pair)
    return started, finished


def _takeovers(
    group: Cluster, victim: Server, started: dict[tuple[str, str], float], killed_at: float
) -> dict[tuple[str, str], float]:
    """The other instances' first start, after the kill, of each run the victim started."""
    takeovers: dict[tuple[str, str], float] = {}
    for server in group.every_server:
        if server is victim:
            continue
        for line in run_lines(server):
            pair = (str(line.get("delivery_id")), str(line.get("processor")))
            if line.get("message") == "processor started" and pair in started:
                at = _time_of(line)
                if at > killed_at and (pair not in takeovers or at < takeovers[pair]):
                    takeovers[pair] = at
    return takeovers


def _repeats(group: Cluster, received_commands: list[Any]) -> dict[tuple[str, str], list[float]]:
    """When each run began, seen by the receivers that count: the relay's (arrivals) and
    deploy-staging's topic (publish times); only the (delivery, processor) run twice."""
    starts: dict[tuple[str, str], list[float]] = {}
    for key, arrived, _answered in group.sink.timeline:
        starts.setdefault((key, "relay"), []).append(arrived)
    for message in received_commands:
        key = message.message.attributes["delivery_id"]
        published = message.message.publish_time.timestamp()
        starts.setdefault((key, "deploy-staging"), []).append(published)
    return {pair: sorted(times) for pair, times in starts.items() if len(times) > 1}


def account_for_the_kill(
    group: Cluster,
    killed_at: float,
    received_commands: list[Any],
    store_runs: Counter[str],
    lease_seconds: float,
) -> dict[str, Any]:
    """Every run the kill cut short is taken over within 15 s of it; every run repeated is
    one the killed instance's log names, taken over only once that run's lease could have
    ended."""
    victim = group.killed[-1]
    started, finished = _runs_of(victim)
    unfinished = set(started) - finished
    assert unfinished, f"the killed instance's log names no run in flight: {victim.output()}"
    takeovers = _takeovers(group, victim, started, killed_at)
    # A SIGKILL loses at most the line being written: one `processor ran` line at most may
    # be missing from a run whose completion landed (its record then says completed).
    records = firestore_documents(group, "RUNRUN_IDEMPOTENCY_COLLECTION")
    landed = {
        pair
        for pair in unfinished - set(takeovers)
        if records.get(_record_id(pair), {}).get("status") == "completed"
    }
    assert len(landed) <= 1, f"completed runs whose `processor ran` line is missing: {landed}"
    missing = sorted(unfinished - set(takeovers) - landed)
    assert missing == [], f"runs cut short and never taken over: {missing}"
    delays = sorted(at - killed_at for at in takeovers.values())
    assert delays and delays[-1] <= TAKEOVER_LIMIT_SECONDS, delays

    # A run the kill cut short held a lease renewed at most a third of a lease before the
    # kill: another run beginning before two thirds of a lease after the kill ran while
    # that lease was live.
    live_until = killed_at + lease_seconds * 2 / 3
    repeated = _repeats(group, received_commands)
    within_lease = sum(
        1 for times in repeated.values() for later in times[1:] if later < live_until
    )
    # The store's receiver (one document per id) cannot count: its `processor ran` lines do.
    store_repeats = {(key, "store") for key, n in store_runs.items() if n > 1}
    unaccounted = sorted(pair for pair in {*repeated, *store_repeats} if pair not in takeovers)
    assert within_lease == 0, "two runs of one processor on one delivery overlapped"
    assert unaccounted == [], f"repeated runs the killed instance did not start: {unaccounted}"
    return {
        "killed mid-storm, then replaced": 1,
        "killed while running processors": 1,
        "runs the killed instance's log names as started": len(started),
        "of which unfinished (no processor ran line)": len(unfinished),
        "runs taken over by another instance": len(takeovers),
        "runs repeated within the lease": within_lease,
        "runs repeated after a takeover (each named in the killed log)": sum(
            len(times) - 1 for times in repeated.values()
        )
        + len(store_repeats),
        "seconds from the kill to each takeover (min, median, max)": [
            round(delays[0], 2),
            round(delays[len(delays) // 2], 2),
            round(delays[-1], 2),
        ],
        "lease seconds": lease_seconds,
    }
