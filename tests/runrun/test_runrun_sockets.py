"""Parity over real sockets: `functions-framework --target NAME` processes against one
`python -m runrun serve` process (granian, and gunicorn when selected), plus what only a
real process tree shows: one import, health, SIGTERM drain, the local queue worker."""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runrun import discover, secrets_table
from tests.support.runrun_scenarios import corpus
from tests.support.runrun_scenarios.corpus import Answer, Case
from tests.support.runrun_scenarios.processes import Server, base_env, functions_framework, runrun


@dataclass
class Fleet:
    reference: dict[str, Server]
    ours: dict[str, Server]  # by server kind
    folder: Path


def _start_fleet(
    folder: Path, source: Path, targets: list[str], kinds: list[str], **env: str
) -> Fleet:
    log_dir = folder / "logs"
    log_dir.mkdir(parents=True)
    ff_env = base_env(folder / "ff-state", SCENARIO_EVENTS_DIR=str(folder / "ff-events"), **env)
    types = corpus.ECHO_SIGNATURE_TYPES if source == corpus.ECHO_SOURCE else {}
    reference = {
        t: functions_framework(t, source, ff_env, log_dir, "--signature-type", types.get(t, "http"))
        for t in targets
    }
    ours = {}
    for kind in kinds:
        ours_env = base_env(
            folder / f"{kind}-state",
            SCENARIO_EVENTS_DIR=str(folder / f"{kind}-events"),
            SCENARIO_IMPORT_LOG=str(folder / f"{kind}-imports.log"),
            **env,
        )
        ours[kind] = runrun(kind, source, ours_env, log_dir, "--server", kind, "--workers", "2")
    fleet = Fleet(reference, ours, folder)
    for name in ("ff", *kinds):
        (folder / f"{name}-events").mkdir()
    try:
        for server in [*reference.values(), *ours.values()]:
            server.wait_ready("/_runrun/health")
    except BaseException:
        _stop(fleet)
        raise
    return fleet


def _stop(fleet: Fleet) -> None:
    for server in [*fleet.reference.values(), *fleet.ours.values()]:
        server.stop()


@pytest.fixture(scope="module")
def echo_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    targets = sorted({case.target for case in corpus.echo_cases()})
    # The server's environment must not reach the request: HTTP_PROXY would show up as a
    # `Proxy` request header, a secret in `request.environ` (see `echo`).
    fleet = _start_fleet(
        tmp_path_factory.mktemp("echo"),
        corpus.ECHO_SOURCE,
        targets,
        ["granian", "gunicorn"],
        HTTP_PROXY="http://proxy.invalid:3128",
        SCENARIO_SECRET="not-for-requests",
    )
    yield fleet
    _stop(fleet)


@pytest.fixture(scope="module")
def main_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    targets = [t.name for t in discover(corpus.MAIN_SOURCE).targets]
    fleet = _start_fleet(
        tmp_path_factory.mktemp("main"), corpus.MAIN_SOURCE, targets, ["granian"], **corpus.SECRETS
    )
    yield fleet
    _stop(fleet)


def _header_order_as_granian_sees_it(case: Case, answer: Answer) -> Answer:
    """granian's WSGI interface hands an application the request headers grouped by its
    own order (Content-Type and Content-Length first), not the client's: the one documented
    difference (docs/parity.md). Under granian the `headers` echo is compared as a set."""
    if case.target != "headers" or answer.status != 200:
        return answer
    body = json.dumps(sorted(json.loads(answer.body))).encode()
    return Answer(answer.status, answer.headers, body)


def _compare(cases: list[Case], reference: list[Answer], ours: list[Answer], who: str) -> None:
    if who == "granian":
        reference = [
            _header_order_as_granian_sees_it(c, a) for c, a in zip(cases, reference, strict=True)
        ]
        ours = [_header_order_as_granian_sees_it(c, a) for c, a in zip(cases, ours, strict=True)]
    mismatches = [
        f"{case}\n  functions-framework: {ref}\n  runrun ({who}):  {got}"
        for case, ref, got in zip(cases, reference, ours, strict=True)
        if ref != got
    ]
    assert not mismatches, "\n".join(mismatches)


def _events(folder: Path) -> dict[str, object]:
    return {p.name: json.loads(p.read_text()) for p in folder.iterdir()}


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_scenario_targets_answer_identically_over_sockets(echo_fleet: Fleet, kind: str) -> None:
    cases = corpus.echo_cases()
    reference = [echo_fleet.reference[c.target].send(c, c.ff_path()) for c in cases]
    ours = [echo_fleet.ours[kind].send(c, c.runrun_path()) for c in cases]
    _compare(cases, reference, ours, kind)
    ff_events = _events(echo_fleet.folder / "ff-events")
    # 3 CloudEvents to `events`; 2 legacy events and 3 CloudEvents to each of `background`
    # and `plain_events`, every one converted to the form the function takes.
    assert sorted(name.split("-")[0] for name in ff_events).count("background") == 5
    assert sorted(name.split("-")[0] for name in ff_events).count("plain") == 5
    assert len(ff_events) == 13
    assert _events(echo_fleet.folder / f"{kind}-events") == ff_events


def test_every_main_target_answers_identically_over_sockets(main_fleet: Fleet) -> None:
    targets = discover(corpus.MAIN_SOURCE).targets
    secrets = secrets_table(targets)
    cases = corpus.main_cases(
        (t.name, t.signature_type, (secrets.get(t.name) or (None,))[0]) for t in targets
    )
    reference = [main_fleet.reference[c.target].send(c, c.ff_path()) for c in cases]
    ours = [main_fleet.ours["granian"].send(c, c.runrun_path()) for c in cases]
    _compare(cases, reference, ours, "granian")
    assert any(("idempotent-replayed", "true") in a.headers for a in ours)


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_source_module_is_imported_once_per_process_tree(echo_fleet: Fleet, kind: str) -> None:
    # Two worker processes, six targets: one execution of the module, in the master.
    lines = (echo_fleet.folder / f"{kind}-imports.log").read_text().split()
    assert len(lines) == 1


def test_health_lists_targets_and_unknown_paths_list_them_too(echo_fleet: Fleet) -> None:
    server = echo_fleet.ours["granian"]
    names = sorted(t.name for t in discover(corpus.ECHO_SOURCE).targets)
    health = server.request("GET", "/_runrun/health")
    assert health.status == 200
    assert [t["name"] for t in json.loads(health.body)["targets"]] == names
    for method, path in [("GET", "/"), ("POST", "/nope/x"), ("GET", "/echoes")]:
        missing = server.request(method, path, body=b"{}" if method == "POST" else b"")
        assert missing.status == 404
        assert ("content-type", "application/json") in missing.headers
        assert json.loads(missing.body)["targets"] == [f"/{name}" for name in names]


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_sigterm_lets_the_request_in_flight_finish_then_exits_0(tmp_path: Path, kind: str) -> None:
    mark = tmp_path / "slow-started"
    env = base_env(tmp_path / "state", SCENARIO_SLOW_MARK=str(mark))
    server = runrun(kind, corpus.ECHO_SOURCE, env, tmp_path, "--server", kind, "--workers", "1")
    try:
        server.wait_ready("/_runrun/health")
        answers: list[Answer] = []
        client = threading.Thread(
            target=lambda: answers.append(server.request("GET", "/slow?seconds=2")), daemon=True
        )
        client.start()
        for _ in range(300):  # bounded: until the handler is running
            if mark.exists():
                break
            client.join(0.05)
        assert mark.exists(), server.output()
        status = server.stop(signal.SIGTERM)
        client.join(30)
        assert answers and answers[0].status == 200 and answers[0].body == b"finished"
        assert status == 0, server.output()
        with pytest.raises(OSError):
            server.request("GET", "/_runrun/health", timeout=2)
    finally:
        server.stop(signal.SIGKILL)


def test_one_granian_worker_ignores_sighup_and_is_cut_short_after_the_grace(
    tmp_path: Path,
) -> None:
    # One worker: granian runs it in the server's own process, where a respawn on SIGHUP
    # would start a second runtime, and a request still running past the grace cannot be
    # killed with its worker process: the process exits 0, as a master does once it has
    # killed its worker.
    mark = tmp_path / "slow-started"
    env = base_env(tmp_path / "state", SCENARIO_SLOW_MARK=str(mark))
    server = runrun("one", corpus.ECHO_SOURCE, env, tmp_path, "--workers", "1")
    try:
        server.wait_ready("/_runrun/health")
        assert server.process is not None
        server.process.send_signal(signal.SIGHUP)
        for _ in range(200):  # bounded: until the signal is handled
            if "SIGHUP ignored" in server.log.read_text(errors="replace"):
                break
            threading.Event().wait(0.05)
        assert server.request("GET", "/_runrun/health").status == 200, server.output()

        def cut_off() -> None:
            with contextlib.suppress(OSError):  # the process exits before it answers
                server.request("GET", "/slow?seconds=60", timeout=60)

        client = threading.Thread(target=cut_off, daemon=True)
        client.start()
        for _ in range(300):  # bounded: until the handler is running
            if mark.exists():
                break
            client.join(0.05)
        assert mark.exists(), server.output()
        # Killed (-9) if it had not exited by itself within 20 s.
        assert server.stop(signal.SIGTERM) == 0, server.output()
        log = server.log.read_text(errors="replace")
        assert "did not stop within 8 s" in log
        assert "Spawning worker-1 with TID" in log  # a thread of the server's process
    finally:
        server.stop(signal.SIGKILL)


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_threaded_timeout_and_legacy_entry_point_mode_as_functions_framework(
    tmp_path: Path, kind: str
) -> None:
    # Past CLOUD_RUN_TIMEOUT_SECONDS a request answers 500 (crash); ENTRY_POINT answers a
    # None return "OK" and writes severity JSON lines.
    env = base_env(
        tmp_path / "state",
        CLOUD_RUN_TIMEOUT_SECONDS="1",
        THREADED_TIMEOUT_ENABLED="true",
        THREADS="4",
        ENTRY_POINT="returns",
    )
    servers = [
        functions_framework(t, corpus.ECHO_SOURCE, env, tmp_path, "--signature-type", "http")
        for t in ("slow", "returns")
    ]
    servers.append(runrun(kind, corpus.ECHO_SOURCE, env, tmp_path, "--server", kind))
    try:
        for server in servers:
            server.wait_ready("/_runrun/health")
        slow, returns, ours = servers
        for path, reference in [("/?seconds=3", slow), ("/?kind=none", returns)]:
            target = "slow" if reference is slow else "returns"
            expected = reference.request("GET", path)
            assert ours.request("GET", f"/{target}{path}") == expected
        assert expected.status == 200 and expected.body == b"OK"
        timed_out = slow.request("GET", "/?seconds=3")
        assert timed_out.status == 500 and ("x-google-status", "crash") in timed_out.headers
    finally:
        for server in servers:
            server.stop()
