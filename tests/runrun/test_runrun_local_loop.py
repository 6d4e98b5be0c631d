"""The local loop on a project served from its own folder: `runrun serve --env-file` (values
under the real environment, never printed) and `--reload` (a source change restarts the
server, async targets too; ignored, loudly, on Cloud Run)."""

from __future__ import annotations

import time
from pathlib import Path

from tests.runrun.test_runrun_adopt import HELPERS_MAIN, SAFETY_NET, _cli, _env, _project, _serve
from tests.support.runrun_scenarios.processes import Server


def test_env_file_fills_what_the_environment_leaves_unset_and_prints_no_value(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path / "project", HELPERS_MAIN, '[tool.runrun]\ntargets = ["greet"]\n')
    env_file = project / ".env"
    env_file.write_text("GREETING=from-the-file-4d1c\nREAL=file-value-9a7e\n")
    env = _env(tmp_path, REAL="from-the-environment")
    server = _serve("env-file", project, env, tmp_path, "--env-file", str(env_file))
    try:
        assert server.request("GET", "/greet").body == b"hello from-the-file-4d1c"
    finally:
        server.stop()
    assert "4d1c" not in server.output() and "9a7e" not in server.output()
    missing = _cli(project, env, "serve", "--env-file", "nope.env")
    assert (missing.returncode, missing.stderr) == (
        2,
        "runrun: --env-file nope.env: no such file\n",
    )


RELOADED = """
import functions_framework
import functions_framework.aio


@functions_framework.http
def version(request):
    return "VERSION"


@functions_framework.aio.http
async def version_async(request):
    return "VERSION"
"""


def _wait_for(server: Server, path: str, body: bytes) -> None:
    for _ in range(SAFETY_NET):
        try:
            if server.request("GET", path, timeout=5).body == body:
                return
        except OSError:
            pass  # between the old server and the new one
        time.sleep(0.1)
    raise AssertionError(f"{path} never answered {body!r}:\n{server.output()}")


def test_reload_restarts_the_server_on_a_source_change(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", RELOADED.replace("VERSION", "one"))
    server = _serve("reload", project, _env(tmp_path), tmp_path, "--reload", "--workers", "1")
    try:
        _wait_for(server, "/version", b"one")
        _wait_for(server, "/version_async", b"one")
        (project / "main.py").write_text(RELOADED.replace("VERSION", "two"))
        _wait_for(server, "/version", b"two")
        _wait_for(server, "/version_async", b"two")
    finally:
        assert server.stop() == 0
    assert "--reload: watching" in server.output()


def test_reload_is_ignored_loudly_on_cloud_run(tmp_path: Path) -> None:
    project = _project(tmp_path / "project", RELOADED.replace("VERSION", "one"))
    env = _env(tmp_path, K_SERVICE="svc")
    server = _serve("reload-k", project, env, tmp_path, "--reload", "--workers", "1")
    try:
        _wait_for(server, "/version", b"one")
    finally:
        server.stop()
    assert "--reload ignored: K_SERVICE is set" in server.output()
    assert "watching" not in server.output()
