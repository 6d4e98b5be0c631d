"""What a target sees of how it is served, under granian and gunicorn, against the real
`functions-framework --target X [--asgi]`: the URL under the mount (`/<target>` is in
`request.url` and `request.script_root`, not in `request.path`), FUNCTION_TARGET /
FUNCTION_SIGNATURE_TYPE (set when one target is served, unset with several), and WORKERS /
THREADS observed in the running process tree."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.runrun_scenarios.corpus import HERE
from tests.support.runrun_scenarios.processes import Server, base_env, functions_framework, runrun

SOURCE = HERE / "mount" / "mount_main.py"  # a folder of its own: no pyproject.toml types
KINDS = ("granian", "gunicorn")
THREADS = 3  # per worker, through functions-framework's THREADS (not runrun's default)
WORKERS = 3  # through WORKERS; not this machine's CPU count, runrun's default
UNSET = {"FUNCTION_TARGET": None, "FUNCTION_SIGNATURE_TYPE": None}
GATE = ("--signature-type", "gate=http")  # undecorated: served once named


@dataclass
class Fleet:
    ff: Server  # functions-framework --target where
    ff_asgi: Server  # functions-framework --asgi --target where_async
    every: dict[str, Server]  # runrun serve, every target, WORKERS=1 THREADS=3
    single: dict[str, Server]  # runrun serve --target where
    gate_dir: dict[str, Path]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    folder = tmp_path_factory.mktemp("serving")
    env = base_env(folder / "state")
    ff = functions_framework("where", SOURCE, env, folder)
    ff_asgi = functions_framework("where_async", SOURCE, env, folder, "--asgi")
    every, single, gates = {}, {}, {}
    for kind in KINDS:
        gates[kind] = folder / f"{kind}-gate"
        gates[kind].mkdir()
        counts = {"WORKERS": "1", "THREADS": str(THREADS), "SCENARIO_GATE_DIR": str(gates[kind])}
        every[kind] = runrun(
            f"{kind}-every", SOURCE, {**env, **counts}, folder, "--server", kind, *GATE
        )
        single[kind] = runrun(
            f"{kind}-single", SOURCE, env, folder, "--server", kind, "--target", "where"
        )
    servers = [ff, ff_asgi, *every.values(), *single.values()]
    try:
        for server in servers:
            server.wait_ready("/_runrun/health")
        yield Fleet(ff, ff_asgi, every, single, gates)
    finally:
        for server in servers:
            server.stop()


def _json(server: Server, path: str) -> dict[str, object]:
    answer = server.request("GET", path)
    assert answer.status == 200, answer
    result: dict[str, object] = json.loads(answer.body)
    return result


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", ["/", "/a/b?x=1&y=%2F", "/caf%C3%A9"])
def test_request_url_includes_the_mount_and_request_path_does_not(
    fleet: Fleet, kind: str, path: str
) -> None:
    reference = _json(fleet.ff, path)
    ours = _json(fleet.every[kind], "/where" + path)
    # As under functions-framework at `/`: the path the target routes on.
    for key in ("path", "full_path", "host_url"):
        assert ours[key] == reference[key], key
    # The mount is part of the real URL, so the URL-building attributes carry it.
    host = "http://localhost"
    assert reference["script_root"] == "" and ours["script_root"] == "/where"
    assert reference["url_root"] == f"{host}/" and ours["url_root"] == f"{host}/where/"
    for key in ("url", "base_url"):
        assert isinstance(reference[key], str) and reference[key].startswith(f"{host}/")
        assert ours[key] == f"{host}/where" + reference[key][len(host) :], key


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", ["/", "/a/b?x=1&y=%2F", "/caf%C3%A9", "/my_path"])
def test_an_async_target_sees_functions_frameworks_url_and_path(
    fleet: Fleet, kind: str, path: str
) -> None:
    reference = _json(fleet.ff_asgi, path)
    ours = _json(fleet.every[kind], "/where_async" + path)
    assert reference["root_path"] == "" and reference["mount"] == ""
    assert str(reference["url"]).startswith("http://localhost/")
    # Starlette's request.url, url.path, the scope's path and root_path: all the same.
    assert {k: v for k, v in ours.items() if k != "mount"} == {
        k: v for k, v in reference.items() if k != "mount"
    }
    assert ours["mount"] == "/where_async"  # where a target needs it (docs/parity.md)


@pytest.mark.parametrize("kind", KINDS)
def test_function_target_and_signature_type_are_set_when_one_target_is_served(
    fleet: Fleet, kind: str
) -> None:
    reference = _json(fleet.ff, "/")["env"]
    assert reference == {
        "FUNCTION_TARGET": "where",
        "FUNCTION_SIGNATURE_TYPE": "http",
        "FUNCTION_NAME": None,
        "FUNCTION_TRIGGER_TYPE": None,
    }
    assert _json(fleet.single[kind], "/where/")["env"] == reference
    # Several targets: one process-wide variable cannot name them all (docs/parity.md).
    several = _json(fleet.every[kind], "/where/")["env"]
    assert isinstance(several, dict) and {k: several[k] for k in UNSET} == UNSET


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_threads_bounds_the_requests_one_worker_runs_at_once(fleet: Fleet, kind: str) -> None:
    server, gate = fleet.every[kind], fleet.gate_dir[kind]
    answers: list[dict[str, object]] = []
    clients = [
        threading.Thread(target=lambda: answers.append(_json(server, "/gate")), daemon=True)
        for _ in range(2 * THREADS)
    ]
    for client in clients:
        client.start()
    entered: list[Path] = []
    for _ in range(1200):  # bounded: until THREADS requests are held inside the worker
        entered = list(gate.glob("entered-*"))
        if len(entered) >= THREADS:
            break
        clients[0].join(0.05)
    assert len(entered) >= THREADS, server.output()
    (gate / "release").touch()
    for client in clients:
        client.join(90)
    assert len(answers) == 2 * THREADS, server.output()
    # WORKERS=1: one worker (granian runs it in the server's own process, gunicorn in the
    # one process it forks); THREADS=3: it ran exactly three requests at once (the three
    # held ones), never more, although six were sent together.
    assert server.process is not None
    pids = {answer["pid"] for answer in answers}
    if kind == "granian":
        assert pids == {server.process.pid}
        assert not _children(server.process.pid)
    else:
        assert len(pids) == 1 and pids <= _children(server.process.pid)
        assert len(_children(server.process.pid)) == 1
    assert max(int(answer["most_at_once"]) for answer in answers) == THREADS  # type: ignore[call-overload]
    assert len(list(gate.glob("entered-*"))) == 2 * THREADS


@pytest.mark.parametrize("kind", KINDS)
def test_workers_sets_the_number_of_worker_processes(tmp_path: Path, kind: str) -> None:
    env = base_env(tmp_path / "state", WORKERS=str(WORKERS), SCENARIO_GATE_DIR=str(tmp_path))
    server = runrun(kind, SOURCE, env, tmp_path, "--server", kind, *GATE)
    try:
        server.wait_ready("/_runrun/health")
        assert server.process is not None
        children: set[int] = set()
        for _ in range(600):  # bounded: until the master has started its workers
            children = _children(server.process.pid)
            if len(children) >= WORKERS:
                break
            threading.Event().wait(0.05)
        assert len(children) == WORKERS, server.output()
    finally:
        server.stop()
