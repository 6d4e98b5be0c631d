"""The installed shim: a wheel built from a clean copy of the repository, installed into a
fresh virtualenv outside it, serving functions projects written for plain functions-framework
(tests/support/projects) from a temporary folder of their own.

For every entry point of every project, under granian and under gunicorn, `runrun serve`
answers each request with the status, body and headers (but Date and Server) of
`functions-framework --target X` run from the same virtualenv; no helper function is a
route or a refusal; nothing is written into the project's folder. The wheel holds the
`runrun` package alone, with its `runrun` command and only the shim's dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.support.helpers import free_port
from tests.support.projects.projects import PROJECTS, Project
from tests.support.runrun_scenarios.corpus import ROOT
from tests.support.runrun_scenarios.processes import Server

INSTALL_TIMEOUT = 900  # seconds: a fresh virtualenv installs the shim's dependencies


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path  # the fresh virtualenv's bin folder


def _clean_copy(destination: Path) -> Path:
    """The repository's files as a fresh clone would have them (tracked, plus new files not
    ignored): nothing a local build or run left behind."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        name = raw.decode()
        source = ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    return destination


def _run(argv: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    run = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    assert run.returncode == 0, f"{argv}:\n{run.stdout}\n{run.stderr}"
    return run  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    folder = tmp_path_factory.mktemp("wheel")
    source = _clean_copy(folder / "checkout")
    dist = folder / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index"]
    _run([*build, "--no-build-isolation", "-w", str(dist), str(source)], 300)
    (wheel,) = dist.glob("runrun-*.whl")
    venv = folder / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], 120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    _run([*pip, str(wheel)], INSTALL_TIMEOUT, env={**os.environ, "PIP_NO_INPUT": "1"})
    return Installed(wheel, venv / "bin")


def _requirement(text: str) -> tuple[str, str]:
    requirement = Requirement(text.split("#")[0].strip())
    return requirement.name.lower(), str(sorted(str(s) for s in requirement.specifier))


def test_the_wheel_holds_the_shim_alone(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
        entry_points = wheel.read(next(n for n in names if n.endswith("entry_points.txt")))
    assert {name.split("/")[0] for name in names} == {"runrun", "runrun-0.1.0.dist-info"}
    assert "runrun/hooks.py" in names and "runrun/py.typed" in names
    assert "runrun/deploy/_plans.py" in names  # the deploy package travels with the shim
    assert b"runrun = runrun.__main__:run" in entry_points
    # What an extra adds (`runrun[pubsub]`) is installed only when asked for.
    requires = {
        _requirement(line.split(":", 1)[1])
        for line in metadata.decode().splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert requires == {_requirement(line) for line in project["dependencies"]}
    assert not any(name.startswith("google-cloud") for name, _ in requires)
    assert set(project["optional-dependencies"]) == {"pubsub"}
    # The repository's own requirements pin the same ranges for what the shim needs.
    wanted = {
        _requirement(line)
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    }
    assert requires <= wanted


def test_the_installed_command_claims_no_name_of_the_repository(
    installed: Installed, tmp_path: Path
) -> None:
    python = str(installed.bin / "python")
    for name in ("shared", "functions", "tests", "bench", "main"):
        found = subprocess.run(
            [python, "-c", f"import {name}"], cwd=tmp_path, capture_output=True, timeout=60
        )
        assert found.returncode != 0, name
    helped = _run([str(installed.bin / "runrun"), "serve", "--help"], 60, cwd=tmp_path)
    assert "--reload" in helped.stdout and "--env-file" in helped.stdout
    # Deploy planning is the shim's too: a plain project's setup and its build, installed.
    (tmp_path / "main.py").write_text(
        "import functions_framework\n\n\n@functions_framework.http\n"
        "def hello(request):\n    return 'hello'\n"
    )
    for command in (["deploy-plan", "--setup", "--mode", "run"], ["cloudbuild"]):
        plan = subprocess.run(
            [str(installed.bin / "runrun"), *command, "--project", "acme", "--region", "r1"]
            if command[0] == "deploy-plan"
            else [str(installed.bin / "runrun"), *command],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert plan.returncode == 0, plan.stderr
        assert "Traceback" not in plan.stderr
        assert ("functions deploy hello" if command == ["cloudbuild"] else "gcloud ") in plan.stdout


def _env(installed: Installed, port: int, project: Project, results: Path) -> dict[str, str]:
    """What a user's shell gives: the fresh virtualenv first on PATH, nothing of ours."""
    return {
        "PATH": f"{installed.bin}{os.pathsep}/usr/local/bin:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PORT": str(port),
        "RESULTS_DIR": str(results),
        **project.env,
    }


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.folder)
def test_a_project_answers_as_under_functions_framework(
    installed: Installed, tmp_path: Path, project: Project
) -> None:
    folder = shutil.copytree(project.path, tmp_path / project.folder)
    results = tmp_path / "results"
    results.mkdir()
    before = _listing(folder)
    routes = _run([str(installed.bin / "runrun"), "routes", *project.runrun_args()], 60, cwd=folder)
    listed, _, left_alone = routes.stdout.partition("\n\n")
    served = [line.split()[0] for line in listed.splitlines()]
    assert served == sorted(e.name for e in project.entry_points)
    own = [h for h in project.helpers if f"def {h}(" in (folder / "main.py").read_text()]
    assert all(f"\n{helper}(" in left_alone for helper in own), routes.stdout
    servers: dict[str, Server] = {}
    for entry in project.entry_points:
        port = free_port()
        argv = [str(installed.bin / "functions-framework"), "--target", entry.name]
        argv += ["--host", "127.0.0.1", "--port", str(port), *entry.ff_args()]
        env = _env(installed, port, project, results)
        servers[entry.name] = Server(f"ff-{entry.name}", argv, env, tmp_path).start(folder)
    for kind in ("granian", "gunicorn"):
        port = free_port()
        argv = [str(installed.bin / "runrun"), "serve", "--host", "127.0.0.1", "--server", kind]
        argv += ["--workers", "2", *project.runrun_args()]
        env = _env(installed, port, project, results)
        servers[kind] = Server(f"runrun-{kind}", argv, env, tmp_path).start(folder)
    try:
        for name, server in servers.items():
            server.wait_ready("/_runrun/health" if name in ("granian", "gunicorn") else "/")
        mismatches = []
        for kind in ("granian", "gunicorn"):
            for case in project.cases:
                reference = servers[case.target].send(case, case.ff_path())
                ours = servers[kind].send(case, case.runrun_path())
                if reference != ours:
                    mismatches.append(f"{kind} {case}\n  ff:     {reference}\n  runrun: {ours}")
            for helper in project.helpers:
                assert servers[kind].request("GET", f"/{helper}").status == 404, helper
        assert not mismatches, "\n".join(mismatches)
    finally:
        for server in servers.values():
            server.stop()
    assert {c.target for c in project.cases} == {e.name for e in project.entry_points}
    assert _listing(folder) == before
