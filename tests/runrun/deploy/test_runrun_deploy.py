"""The deploy path: gcloud plans, cloudbuild.yaml kept in step with the targets, and the
container's command run as a process exactly as the Dockerfile runs it."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runrun import Target, cloudbuild_yaml, discover
from runrun.deploy._gcloud_check import gcloud_commands
from shared import Provider
from shared.dialogflow import Fulfilment
from tests.support.deploy_scenarios import make_plans
from tests.support.runrun_scenarios import corpus
from tests.support.runrun_scenarios.processes import Server, base_env, free_port

ROOT = corpus.ROOT


def targets() -> tuple[Target, ...]:
    return discover(corpus.MAIN_SOURCE).targets


def providers() -> dict[str, str]:
    """target -> secret envs, read independently of runrun: every Provider object loaded."""
    found: dict[str, tuple[str, ...]] = {}
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(("functions.", "shared.providers.")):
            for value in vars(module).values():
                if isinstance(value, Provider):
                    found[value.target] = (
                        value.secret_env,
                        *value.key_envs,
                        *value.hook_envs,
                    )
                elif isinstance(value, Fulfilment):
                    found[value.target] = value.env_names
    return found


def test_secrets_table_comes_from_the_providers() -> None:
    table = make_plans("run", ROOT / "main.py").settings.needs.secrets
    assert table == {name: env for name, env in providers().items() if name in table}
    webhooks = {t.name for t in targets() if t.signature_type == "http"} - {"process_delivery"}
    assert set(table) == webhooks
    every = {env for envs in table.values() for env in envs}
    for env in (
        "WEBHOOK_SECRET",
        "GITHUB_WEBHOOK_SECRET",
        "STRIPE_WEBHOOK_SECRET",
        "SLACK_SIGNING_SECRET",
        "META_APP_SECRET",
        "META_VERIFY_TOKEN",
        "STANDARD_WEBHOOK_SECRET",
        "STANDARD_WEBHOOK_PUBLIC_KEY",
    ):
        assert env in every


def test_run_deploy_is_one_service_with_every_secret_and_the_push_subscription() -> None:
    plans = make_plans("run", ROOT / "main.py")
    deploys = [shlex.split(line) for line in plans.step if line.startswith("gcloud run deploy")]
    assert len(deploys) == 1
    deploy = deploys[0]
    assert "--concurrency=80" in deploy and "--cpu-boost" in deploy
    [secrets] = [a.removeprefix("--set-secrets=") for a in deploy if a.startswith("--set-secrets=")]
    assert sorted(s.split("=")[0] for s in secrets.split(",")) == plans.settings.needs.all_secrets()
    [env_vars] = [a for a in deploy if a.startswith("--set-env-vars=")]
    assert "PUSH_AUDIENCE=runrun-push," in env_vars
    assert "PUSH_SERVICE_ACCOUNT=runrun-push@acme.iam.gserviceaccount.com" in env_vars
    assert all(s.endswith(":latest") for s in secrets.split(","))
    push = [
        line
        for line in plans.setup.splitlines()
        if "subscriptions create runrun-process_delivery-push" in line
    ]
    assert len(push) == 1
    assert "--topic=webhook-deliveries" in push[0]
    assert "/process_delivery" in push[0] and "--push-auth-token-audience=runrun-push" in push[0]


def test_functions_deploy_is_each_target_with_its_trigger() -> None:
    plans = make_plans("functions", ROOT / "main.py")
    deploys = {}
    for line in plans.step:
        if line.startswith("gcloud functions deploy"):
            argv = shlex.split(line)
            deploys[argv[3]] = argv
    assert set(deploys) == {t.name for t in targets()}
    secrets = plans.settings.needs.secrets
    for name, argv in deploys.items():
        for flag in ("--gen2", "--runtime=python312", f"--entry-point={name}", "--source=."):
            assert flag in argv, (name, flag)
        if name == "process_delivery":
            assert "--trigger-topic=webhook-deliveries" in argv
            assert not any(a.startswith("--set-secrets") for a in argv)
        else:
            assert "--trigger-http" in argv
            mounted = ",".join(f"{env}={env}:latest" for env in sorted(secrets[name]))
            assert f"--set-secrets={mounted}" in argv


def test_deploy_plan_command_prints_only_commands(tmp_path: Path) -> None:
    env = base_env(tmp_path / "state", GOOGLE_CLOUD_PROJECT="acme", RUNRUN_TOPIC="deliveries")
    for mode in ("run", "functions"):
        for setup in ([], ["--setup"]):
            result = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "runrun",
                    "deploy-plan",
                    "--mode",
                    mode,
                    "--region",
                    "europe-west1",
                    *setup,
                ],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
            lines = result.stdout.splitlines()
            assert lines[:2] == ["#!/usr/bin/env bash", "set -euo pipefail"]
            for line in lines:
                for words in gcloud_commands(line):  # `projects ...` name the project itself
                    assert (
                        "--project=acme" in words
                        or words[:3] == ["projects", "add-iam-policy-binding", "acme"]
                        or words[:3] == ["projects", "describe", "acme"]
                        or words[:2] == ["storage", "buckets"]
                    ), line
            syntax = subprocess.run(
                ["bash", "-n"], input=result.stdout, capture_output=True, text=True
            )
            assert syntax.returncode == 0, syntax.stderr
            if setup:
                assert "gcloud pubsub topics create deliveries " in result.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "runrun", "deploy-plan", "--mode", "run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert missing.returncode == 2 and "the region is required" in missing.stderr


def test_cloudbuild_yaml_is_current() -> None:
    committed = (ROOT / "cloudbuild.yaml").read_text()
    assert committed == cloudbuild_yaml(targets()), (
        "cloudbuild.yaml is stale: run `.venv/bin/python -m runrun cloudbuild > cloudbuild.yaml`"
    )


def test_cloudbuild_yaml_deploys_exactly_the_targets() -> None:
    text = (ROOT / "cloudbuild.yaml").read_text()
    run_branch = text.split("          run)\n")[1].split(";;")[0]
    functions_branch = text.split("          functions)\n")[1].split(";;")[0]
    deployed = set(re.findall(r"gcloud functions deploy (\S+)", functions_branch))
    assert deployed == {t.name for t in targets()}
    assert run_branch.count("gcloud run deploy") == 1
    steps = re.findall(r"^  - id: (\w+)$", text, flags=re.MULTILINE)
    assert steps == ["check", "test", "build", "push", "deploy"]


# --- The container -------------------------------------------------------------------


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    rows = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, rest = line.strip().partition(" ")
            rows.append((instruction.upper(), rest.strip()))
    return rows


def copied() -> list[str]:
    return [rest.split()[0] for op, rest in dockerfile() if op == "COPY"]


def project_packages() -> set[str]:
    """Top-level project modules that importing main.py loads (and so the server needs)."""
    discover(corpus.MAIN_SOURCE)
    names = set()
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None) or ""
        path = Path(file).resolve() if file else None
        if path and ROOT in path.parents and ".venv" not in path.parts:
            names.add(path.relative_to(ROOT).parts[0])
    # runrun is the server, not imported by main.py; bench is the benchmark harness, which its
    # own tests import into this process.
    return names - {"tests", "runrun", "bench"}


def test_dockerfile_layers_user_and_base() -> None:
    rows = dockerfile()
    assert rows[0] == ("FROM", "python:3.12-slim")
    ops = [op for op, _ in rows]
    install = next(i for i, (op, rest) in enumerate(rows) if op == "RUN" and "pip install" in rest)
    assert copied()[0] == "requirements.txt"
    assert ops.index("COPY") < install < [i for i, op in enumerate(ops) if op == "COPY"][1]
    user = [rest for op, rest in rows if op == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert ops.index("USER") > max(i for i, op in enumerate(ops) if op in ("COPY", "RUN"))


def test_dockerfile_compiles_the_code_it_copies() -> None:
    # The image never writes bytecode at run time: without it compiled at build time, every
    # cold start compiles every module again.
    compiled = [rest.split()[3:] for op, rest in dockerfile() if "compileall" in rest]
    assert compiled and compiled[0][0] == "-q", compiled
    code = {path.rstrip("/") for path in copied()} - {"requirements.txt"}
    assert set(compiled[0][1:]) == code


def test_dockerfile_copies_everything_the_server_imports() -> None:
    sources = {path.rstrip("/") for path in copied()}
    assert project_packages() | {"runrun", "main.py"} <= sources
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert all(f"!{path}" in ignored for path in copied())


def test_gcloudignore_uploads_what_functions_import_and_not_the_rest() -> None:
    lines = (ROOT / ".gcloudignore").read_text().splitlines()
    kept = {line.removeprefix("!/").rstrip("/") for line in lines if line.startswith("!/")}
    assert "/*" in lines
    assert project_packages() | {"requirements.txt"} <= kept
    assert not {"tests", "runrun", "Dockerfile", ".venv"} & kept


def test_container_command_serves_every_target_and_stops_on_sigterm(tmp_path: Path) -> None:
    # The image's file tree: only what the Dockerfile copies, in a folder of its own.
    app = tmp_path / "app"
    app.mkdir()
    for path in copied():
        source = ROOT / path.rstrip("/")
        if source.is_dir():
            shutil.copytree(source, app / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, app / source.name)
    env_lines = [rest for op, rest in dockerfile() if op == "ENV"]
    assert any("PORT=8080" in line for line in env_lines)
    [cmd] = [json.loads(rest) for op, rest in dockerfile() if op == "CMD"]
    port = str(free_port())
    env = base_env(tmp_path / "state", PORT=port, HOST="127.0.0.1", **corpus.SECRETS)
    # 0.0.0.0 in the image; the test binds loopback only.
    argv = [part.replace("--host 0.0.0.0", "--host 127.0.0.1") for part in cmd]
    server = Server("container", argv, env, tmp_path).start(cwd=app)
    try:
        server.wait_ready("/_runrun/health")
        health = json.loads(server.request("GET", "/_runrun/health").body)
        assert [t["name"] for t in health["targets"]] == [t.name for t in targets()]
        for target in targets():
            answer = server.request("POST", target.route, (("Content-Type", "text/plain"),))
            assert answer.status != 404, (target.name, answer)
        assert server.stop(signal.SIGTERM) == 0, server.output()
    finally:
        server.stop(signal.SIGKILL)


@pytest.mark.parametrize("name", ["Dockerfile", ".dockerignore", ".gcloudignore"])
def test_container_files_exist(name: str) -> None:
    assert (ROOT / name).is_file()
