"""runrun on a functions project that knows nothing of it, served from the project's own
folder: exactly the targets Cloud Functions would expose (helpers left alone, never refused),
nothing written into the folder and no Google client without a library's hooks, a library's
hooks called where `runrun.hooks` says, a plain `runrun send`, and deploy planning deploying
what serve serves. (`--reload` and `--env-file`: test_runrun_local_loop.py.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.runrun_scenarios.corpus import ROOT
from tests.support.runrun_scenarios.processes import Server, base_env, runrun

SAFETY_NET = 600  # polls of 0.1 s: only against a hang

HELPERS_MAIN = """
import hashlib
import hmac
import os
import sys

import functions_framework


def verify_signature(request):
    expected = hmac.new(b"k", request.get_data(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Signature", "")):
        raise ValueError("Invalid request/credentials.")


def format_message(query, response):
    return {"text": f"Query: {query}", "found": response}


def lookup(query):
    return format_message(query, {"hello": "world"}.get(query))


@functions_framework.http
def search(request):
    return lookup(request.args.get("q", ""))


@functions_framework.http
def modules(request):
    prefixes = ("google.cloud.firestore", "google.cloud.pubsub", "google.api_core", "grpc")
    return {"loaded": sorted(m for m in sys.modules if m.startswith(prefixes))}


def greet(request):
    return f"hello {os.environ.get('GREETING', 'nobody')}"
"""


def _project(folder: Path, source: str, pyproject: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(source)
    if pyproject is not None:
        (folder / "pyproject.toml").write_text(pyproject)
    return folder


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # The state dir is NOT set: a plain project must not need one. runrun comes from here.
    env = base_env(tmp_path / "unused", PYTHONPATH=str(ROOT), **extra)
    del env["RUNRUN_STATE_DIR"]
    return env


def _cli(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runrun", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _serve(name: str, project: Path, env: dict[str, str], logs: Path, *args: str) -> Server:
    return runrun(name, project / "main.py", env, logs, *args, cwd=project).wait_ready(
        "/_runrun/health"
    )


@pytest.fixture(scope="module")
def helpers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Server]]:
    folder = tmp_path_factory.mktemp("helpers")
    project = _project(folder / "project", HELPERS_MAIN)
    server = _serve("helpers", project, _env(folder), folder, "--workers", "2")
    try:
        yield project, server
    finally:
        server.stop()


def test_only_decorated_functions_are_served_and_helpers_are_left_alone(
    helpers: tuple[Path, Server],
) -> None:
    _, server = helpers
    health = json.loads(server.request("GET", "/_runrun/health").body)
    assert [t["name"] for t in health["targets"]] == ["modules", "search"]
    assert json.loads(server.request("GET", "/search?q=hello").body) == {
        "found": "world",
        "text": "Query: hello",
    }
    for helper in ("verify_signature", "format_message", "lookup", "greet"):
        assert server.request("GET", f"/{helper}").status == 404


def test_a_plain_project_gets_no_state_file_and_no_google_client(
    helpers: tuple[Path, Server],
) -> None:
    project, server = helpers
    assert server.request("GET", "/search").status == 200
    assert json.loads(server.request("GET", "/modules").body) == {"loaded": []}
    assert sorted(p.name for p in project.iterdir()) == ["main.py"]
    assert "warm start" not in server.output() and "backends" not in server.output()


def test_routes_lists_what_is_served_and_what_is_left_alone(
    helpers: tuple[Path, Server], tmp_path: Path
) -> None:
    project, _ = helpers
    run = _cli(project, _env(tmp_path), "routes")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[:2] == ["modules  http        /modules", "search   http        /search"]
    alone = "\n".join(lines[2:])
    assert "format_message(query, response)  --signature-type format_message=event" in alone
    assert "verify_signature(request)" in alone and "--signature-type greet=http" in alone
    assert run.stderr == ""  # nothing logged by a plain project's import


def test_named_undecorated_functions_are_served(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", HELPERS_MAIN, '[tool.runrun]\ntargets = ["greet"]\n')
    env = _env(tmp_path, GREETING="from the environment")
    routes = _cli(project, env, "routes").stdout
    assert "greet    http        /greet" in routes
    assert "--target" in _cli(project, env, "routes", "--help").stdout
    only = _cli(project, {**env, "FUNCTION_TARGET": "lookup"}, "routes").stdout
    assert only.splitlines()[0] == "lookup  http        /lookup"
    assert "/search" not in only


def test_a_source_with_nothing_to_serve_is_refused_with_how_to_name_a_target(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "project", "def hello(request):\n    return 'hi'\n")
    run = _cli(project, _env(tmp_path), "serve", "--port", "0")
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
    assert "no target to serve" in run.stderr and "--target NAME" in run.stderr
    assert "[tool.runrun] targets" in run.stderr


HOOKED_MAIN = """
import os
from pathlib import Path

import functions_framework


class Hooks:
    def check(self, served, defined):
        if os.environ.get("REFUSE"):
            raise ValueError(f"refused: {os.environ['REFUSE']}")
        self._mark("check", ",".join(served))

    def routes(self, served):
        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}|{served}".encode()]

        return {"extra": app}

    def worker_started(self):
        self._mark("started", str(os.getpid()))

    def worker_stopping(self, timeout):
        self._mark("stopping", str(os.getpid()))

    def _mark(self, event, value):
        folder = Path(os.environ["HOOK_MARKS"])
        (folder / f"{event}-{value}-{os.getpid()}").touch()


runrun_hooks = Hooks()


@functions_framework.http
def hello(request):
    return "hello"
"""


def test_a_librarys_hooks_run_where_runrun_hooks_says(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", HOOKED_MAIN)
    marks = tmp_path / "marks"
    marks.mkdir()
    env = _env(tmp_path, HOOK_MARKS=str(marks))
    server = _serve("hooked", project, env, tmp_path, "--workers", "2")
    try:
        answer = server.request("GET", "/_runrun/extra/a/b")
        assert answer.body == b"/_runrun/extra|/a/b|('hello',)"
        assert server.request("GET", "/_runrun/nothing").status == 404
    finally:
        assert server.stop() == 0
    # 40 threads per worker come from the concurrency, not from the user: no warning.
    assert "Python threads" not in server.output()
    names = sorted(p.name for p in marks.iterdir())
    assert server.process is not None
    assert [n for n in names if n.startswith("check-")] == [f"check-hello-{server.process.pid}"]
    started = {n.split("-")[1] for n in names if n.startswith("started-")}
    stopping = {n.split("-")[1] for n in names if n.startswith("stopping-")}
    assert len(started) == 2 and started == stopping, names
    refused = _cli(project, {**env, "REFUSE": "no"}, "serve", "--port", "0")
    assert (refused.returncode, refused.stderr) == (2, "runrun: refused: no\n")


def test_send_posts_a_plain_body_to_any_target(
    helpers: tuple[Path, Server], tmp_path: Path
) -> None:
    project, server = helpers
    body = tmp_path / "body.json"
    body.write_text('{"q": "x"}')
    url = f"http://127.0.0.1:{server.port}/search?q=hello"
    run = _cli(project, _env(tmp_path), "send", "search", "--body", str(body), "--url", url)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "> POST" in run.stdout and "< 200 OK" in run.stdout and "world" in run.stdout
    no_body = _cli(project, _env(tmp_path), "send", "search", "--url", url)
    assert no_body.returncode == 2 and "give --body FILE" in no_body.stderr
    assert os.path.exists(project / "main.py")


def test_deploy_planning_deploys_exactly_what_serve_serves(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", HELPERS_MAIN, '[tool.runrun]\ntargets = ["greet"]\n')
    env = {**_env(tmp_path), "GOOGLE_CLOUD_PROJECT": "p", "RUNRUN_REGION": "europe-west1"}
    source = str(project / "main.py")
    served = [
        line.split()[0]
        for line in _cli(project, env, "routes", "--source", source)
        .stdout.partition("\n\n")[0]
        .splitlines()
    ]
    assert served == ["greet", "modules", "search"]
    # The per-commit deploy is the build: what it deploys is cloudbuild.yaml's.
    build = _cli(project, env, "cloudbuild", "--source", source).stdout
    deployed = sorted(set(re.findall(r"functions deploy (\w+)", build)))
    assert deployed == served
    setup = _cli(project, env, "deploy-plan", "--setup", "--mode", "run", "--source", source)
    assert setup.returncode == 0, setup.stderr
    for helper in ("verify_signature", "format_message", "lookup"):
        assert helper not in setup.stdout and helper not in build
