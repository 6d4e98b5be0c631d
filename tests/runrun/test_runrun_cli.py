"""Discovery and the command line: targets found in main.py, duplicates refused, routes,
the public names of the package, and the local queue worker started by `serve`."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from functions_framework import _function_registry
from werkzeug.test import Client

import main
import runrun
from runrun import (
    DuplicateTargetError,
    SourceError,
    UnsupportedTargetError,
    _discover,
    _mount,
    discover,
)
from runrun._server import ServeOptions
from shared import reload_settings
from shared.backends.handoff import LocalQueue
from tests.support.runrun_scenarios import corpus
from tests.support.runrun_scenarios.processes import base_env
from tests.support.runrun_scenarios.processes import runrun as start_runrun

SCENARIOS = corpus.HERE


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runrun", *args],
        cwd=corpus.ROOT,
        env=base_env(tmp_path / "state"),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_public_names_are_pinned() -> None:
    public = {name for name in dir(runrun) if not name.startswith("_")}
    assert set(runrun.__all__) == public
    assert sorted(runrun.__all__) == sorted(set(runrun.__all__))


def test_every_target_main_exports_is_found_with_its_signature_type() -> None:
    discovery = discover(corpus.MAIN_SOURCE)
    names = {t.name for t in discovery.targets}
    assert names == set(main.__all__)
    for target in discovery.targets:
        expected = _function_registry.REGISTRY_MAP.get(target.name, "http")
        assert target.signature_type == expected
        assert target.route == f"/{target.name}"
    assert discovery.target("process_delivery").signature_type == "http"  # reads its envelope


def test_the_source_module_runs_once_however_often_it_is_discovered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "imports.log"
    monkeypatch.setenv("SCENARIO_IMPORT_LOG", str(log))
    # Import it afresh, and leave sys.modules as it was (without the fresh module when it held
    # none): a later discovery must not find a module whose registrations it never saw.
    monkeypatch.setitem(sys.modules, "echo_main", sys.modules.get("echo_main"))
    monkeypatch.delitem(sys.modules, "echo_main")
    from runrun import _discover

    # A fresh import: forget what earlier tests discovered, including the apps that already
    # served requests (Flask refuses new error handlers on those).
    for cache in ("_cache", "_errorhandlers", "_loader_apps"):
        monkeypatch.setattr(_discover, cache, {})
    first = discover(corpus.ECHO_SOURCE)
    runrun.build_app(first)
    assert discover(corpus.ECHO_SOURCE) is first
    runrun.build_app(first)
    assert len(log.read_text().split()) == 1


def test_decorators_and_errorhandler_are_restored_after_import() -> None:
    http, cloud_event = functions_framework.http, functions_framework.cloud_event
    errorhandler = functions_framework.errorhandler
    discover(corpus.ECHO_SOURCE)
    assert functions_framework.http is http
    assert functions_framework.cloud_event is cloud_event
    assert functions_framework.errorhandler is errorhandler


def test_two_targets_with_one_name_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("dup_main", "dup_alpha", "dup_beta"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(_function_registry, "REGISTRY_MAP", dict(_function_registry.REGISTRY_MAP))
    with pytest.raises(DuplicateTargetError, match="'hook' is defined in dup_alpha and dup_beta"):
        discover(SCENARIOS / "dup_main.py")


def test_serve_refuses_duplicates_at_start_with_a_clear_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "serve", "--source", str(SCENARIOS / "dup_main.py"), "--port", "0")
    assert result.returncode == 2
    assert "runrun: target 'hook' is defined in dup_alpha and dup_beta" in result.stderr
    assert "Rename one of them" in result.stderr


def test_a_missing_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="does not exist"):
        discover(tmp_path / "main.py")


def test_routes_prints_each_target_its_signature_type_and_route(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "routes")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.splitlines()]
    assert rows == [
        [t.name, t.signature_type, t.route] for t in discover(corpus.MAIN_SOURCE).targets
    ]


def test_threads_follow_the_concurrency_setting_not_the_cpu_count() -> None:
    assert ServeOptions(concurrency=80, workers=2).threads == 40
    assert ServeOptions(concurrency=80, workers=3).threads == 27  # 81 >= 80
    assert ServeOptions(concurrency=1, workers=4).worker_count == 1
    assert ServeOptions(concurrency=80).worker_count >= 1


def test_serve_starts_the_local_queue_worker_and_drains_the_outbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A message left in the outbox by an earlier run, written without a worker here.
    state = tmp_path / "state"
    monkeypatch.setenv("RUNRUN_STATE_DIR", str(state))
    monkeypatch.setenv("RUNRUN_QUEUE", "pubsub")  # keeps this process's worker from starting
    reload_settings()
    queue = LocalQueue(state / "queue.sqlite3")
    data = json.dumps({"id": "left-over-1", "type": "t"}).encode()
    attributes = corpus.message_data("generic_webhook", "left-over-1", data)["message"]
    queue.publish("webhook-deliveries", data, attributes["attributes"])
    assert queue.counts() == {"pending": 1}

    server = start_runrun("queue", corpus.MAIN_SOURCE, base_env(state), tmp_path)
    try:
        server.wait_ready("/_runrun/health")
        for _ in range(300):  # bounded: no request is sent, the worker must find it alone
            if not queue.counts():
                break
            time.sleep(0.1)
        assert queue.counts() == {}, server.output()
        assert server.stop(signal.SIGTERM) == 0, server.output()
        assert "worker stopped: queue worker and publisher flushed" in server.output()
    finally:
        server.stop(signal.SIGKILL)


class _CountingLock:
    """A lock that counts the threads that have reached it (holding it or waiting)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.arrived = threading.Semaphore(0)

    def __enter__(self) -> None:
        self.arrived.release()
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_a_target_app_is_built_once_by_its_first_requests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []
    building, release = threading.Event(), threading.Event()
    real_target_app = _mount.target_app

    def target_app(discovery: runrun.Discovery, target: runrun.Target, root_path: str) -> Any:
        built.append(target.name)
        building.set()
        release.wait(timeout=30)
        return real_target_app(discovery, target, root_path)

    monkeypatch.setattr(_mount, "target_app", target_app)
    # A discovery of its own: the apps serving requests here must not be those later
    # imports of echo_main register their error handlers on.
    monkeypatch.setitem(sys.modules, "echo_main", sys.modules.get("echo_main"))
    monkeypatch.delitem(sys.modules, "echo_main")
    for cache in ("_cache", "_errorhandlers", "_loader_apps"):
        monkeypatch.setattr(_discover, cache, {})
    dispatcher = runrun.build_app(discover(corpus.ECHO_SOURCE))
    assert built == []  # nothing built at start
    lock = _CountingLock()
    dispatcher.apps["echo"]._lock = lock
    answers: list[tuple[str, bytes]] = []

    def first_request() -> None:
        response = Client(dispatcher).post("/echo/", data=b"hi")
        answers.append((response.status, response.data))

    threads = [threading.Thread(target=first_request) for _ in range(6)]
    for thread in threads:
        thread.start()
    assert building.wait(timeout=30)
    for _ in range(6):  # every request has reached the build, one of them inside it
        assert lock.arrived.acquire(timeout=30)
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert built == ["echo"]
    # Identical answers but for each request's own generated execution id.
    same = {(status, corpus.GENERATED_ID.sub(b"", body)) for status, body in answers}
    assert len(answers) == 6 and len(same) == 1, answers
    assert answers[0][0] == "200 OK"
    Client(dispatcher).post("/echo/", data=b"again")
    assert built == ["echo"]


def test_a_target_name_flask_cannot_place_is_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A target named like a built-in module: Flask finds no root path for an app of that
    # name (functions-framework's create_app raises there too), and no request may be the
    # first to find out.
    source = tmp_path / "clock_main.py"
    # Two targets: a single one would name itself in the process's FUNCTION_TARGET.
    source.write_text(
        "import functions_framework\n\n\n@functions_framework.http\ndef time(request):\n"
        "    return 'ok'\n\n\n@functions_framework.http\ndef hello(request):\n    return 'ok'\n"
    )
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "clock_main", raising=False)
    with pytest.raises(UnsupportedTargetError, match="'time': Flask cannot serve it: No root path"):
        runrun.build_app(discover(source))
