"""An ordinary Cloud Functions project (tests/support/cf_project, written for functions-framework
alone) promoted unchanged: every request answered by `python -m runrun serve` (granian and
gunicorn) as by `functions-framework --target X [--signature-type T]`, with the same log lines
(LOG_EXECUTION_ID=true: each line carries its request's execution id). Bad configuration is
refused at start with one clear line and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.runrun_scenarios import corpus
from tests.support.runrun_scenarios.corpus import Case
from tests.support.runrun_scenarios.processes import Server, base_env, functions_framework, runrun

PROJECT = Path(__file__).resolve().parents[1] / "support" / "cf_project"
SOURCE = PROJECT / "main.py"
# How each function is deployed: `gcloud functions deploy NAME --trigger-... ` gives its type.
TYPES = {"hello_pubsub": "event", "on_storage_object": "cloudevent"}
FLAGS = [arg for name, kind in TYPES.items() for arg in ("--signature-type", f"{name}={kind}")]
JSON = {"Content-Type": "application/json"}


_run = ""  # in every execution id: each server kind's run sends ids of its own


def _case(target: str, method: str, label: str, n: int, **kw: object) -> Case:
    headers = dict(kw.pop("headers", {}))  # type: ignore[call-overload]
    headers["Function-Execution-Id"] = f"cf-{_run}{target}-{n}"
    return Case(target, method, headers=tuple(headers.items()), label=label, **kw)  # type: ignore[arg-type]


def _storage_object() -> dict[str, str]:
    return {"bucket": "uploads", "name": "reports/q1.csv", "contentType": "text/csv", "size": "9"}


def cases(run: str = "") -> list[Case]:
    global _run
    _run = run
    message = {"data": "Ym9i", "attributes": {"origin": "cf"}, "messageId": "m-1"}
    pubsub = corpus.legacy_event_cases("hello_pubsub")[0]
    storage_ce = {
        "ce-specversion": "1.0",
        "ce-id": "storage-binary-1",
        "ce-source": "//storage.googleapis.com/projects/_/buckets/uploads",
        "ce-type": "google.cloud.storage.object.v1.finalized",
        "ce-subject": "objects/reports/q1.csv",
        "ce-time": "2026-01-01T00:00:00Z",
        "Content-Type": "application/json",
    }
    structured = {
        "specversion": "1.0",
        "id": "storage-structured-1",
        "source": "//storage.googleapis.com/projects/_/buckets/uploads",
        "type": "google.cloud.storage.object.v1.finalized",
        "subject": "objects/reports/q1.csv",
        "data": _storage_object(),
    }
    legacy_storage = {
        "eventId": "storage-legacy-1",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "eventType": "google.storage.object.finalize",
        "resource": "projects/_/buckets/uploads/objects/reports/q1.csv",
        "data": _storage_object(),
    }
    body = corpus._json
    cases = [
        _case("hello_pubsub", "POST", "legacy pubsub event", 1, headers=JSON, body=pubsub.body),
        *[
            _case(c.target, c.method, c.label, 2 + i, headers=dict(c.headers[:-1]), body=c.body)
            for i, c in enumerate(
                corpus.cloudevent_cases(
                    "hello_pubsub", {"message": message, "subscription": "s"}, "cf"
                )
            )
        ],
        _case("hello_pubsub", "GET", "GET", 5),
        _case(
            "on_storage_object",
            "POST",
            "binary",
            1,
            headers=storage_ce,
            body=b'{"bucket":"uploads","name":"reports/q1.csv"}',
        ),
        _case(
            "on_storage_object",
            "POST",
            "structured",
            2,
            headers={"Content-Type": "application/cloudevents+json"},
            body=body(structured),
        ),
        _case("on_storage_object", "POST", "legacy", 3, headers=JSON, body=body(legacy_storage)),
        _case("hello_async", "GET", "query", 1, query="name=ada"),
        _case("hello_async", "POST", "sub-path", 2, path="/a/b", headers=JSON, body=b'{"x":1}'),
        _case("hello_async", "GET", "robots", 3, path="/robots.txt"),
        _case("app_info", "GET", "root", 1),
        _case("app_info", "GET", "deep", 2, path="/x/y"),
        _case("audit", "GET", "ok", 1, query="n=1"),
        _case("audit", "POST", "fail", 2, query="n=2&fail=1", headers=JSON, body=b"{}"),
    ]
    return cases


@dataclass
class Fleet:
    reference: dict[str, Server]
    ours: dict[str, Server]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    folder = tmp_path_factory.mktemp("cf")
    env = base_env(folder / "state", LOG_EXECUTION_ID="true")
    targets = sorted({c.target for c in cases()})
    reference = {
        t: functions_framework(
            t, SOURCE, env, folder, "--signature-type", TYPES.get(t, "http"), cwd=PROJECT
        )
        for t in targets
    }
    # The project is the working directory, as it would be; runrun is found on PYTHONPATH.
    ours_env = {**env, "PYTHONPATH": str(corpus.ROOT)}
    ours = {
        kind: runrun(
            kind, SOURCE, ours_env, folder, "--server", kind, "--workers", "2", *FLAGS, cwd=PROJECT
        )
        for kind in ("granian", "gunicorn")
    }
    servers = [*reference.values(), *ours.values()]
    try:
        for server in servers:
            server.wait_ready()
        yield Fleet(reference, ours)
    finally:
        for server in servers:
            server.stop()


def _log_lines(servers: list[Server]) -> Counter[tuple[str, str]]:
    """(execution id, message) of every execution-id log line the servers wrote."""
    lines: Counter[tuple[str, str]] = Counter()
    for server in servers:
        for line in server.log.read_text(errors="replace").splitlines():
            try:
                payload = json.loads(line)
            except ValueError:
                continue
            if isinstance(payload, dict):
                labels = payload.get("logging.googleapis.com/labels") or {}
                lines[(labels.get("execution_id", ""), payload.get("message", ""))] += 1
    return lines


@pytest.mark.parametrize("kind", ["granian", "gunicorn"])
def test_the_project_answers_and_logs_as_under_functions_framework(fleet: Fleet, kind: str) -> None:
    all_cases = cases(kind)
    reference = [fleet.reference[c.target].send(c, c.ff_path()) for c in all_cases]
    ours = [fleet.ours[kind].send(c, c.runrun_path()) for c in all_cases]
    mismatches = [
        f"{c}\n  functions-framework: {ref}\n  runrun ({kind}): {got}"
        for c, ref, got in zip(all_cases, reference, ours, strict=True)
        if ref != got
    ]
    assert not mismatches, "\n".join(mismatches)
    statuses = Counter(answer.status for answer in ours)
    assert statuses[200] >= 12 and statuses[500] == 1, statuses
    # The log lines: each server's workers flush as they write; wait for none, compare all.
    ids = {dict(c.headers)["Function-Execution-Id"] for c in all_cases}
    ref_lines = _log_lines(list(fleet.reference.values()))
    our_lines = _log_lines([fleet.ours[kind]])
    ref_lines = Counter({k: v for k, v in ref_lines.items() if k[0] in ids})
    our_lines = Counter({k: v for k, v in our_lines.items() if k[0] in ids})
    assert our_lines == ref_lines
    messages = " ".join(message for _, message in ref_lines)
    for expected in ("Hello bob!", "stored uploads/reports/q1.csv", "audit printed"):
        assert expected in messages
    assert "audit warning GET /" in messages and "ValueError: audit failed" in messages


def _refusal(tmp_path: Path, *args: str, source: Path = SOURCE, env: dict[str, str] | None = None):
    argv = [sys.executable, "-m", "runrun", "serve", "--source", str(source), "--port", "0"]
    run = subprocess.run(
        [*argv, "--host", "127.0.0.1", *args],
        cwd=corpus.ROOT,
        env=base_env(tmp_path / "state", **(env or {})),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1, run.stderr
    return run.stderr


def test_a_background_function_named_without_its_type_is_refused_with_how_to_declare_it(
    tmp_path: Path,
) -> None:
    # Named as a target, it would be served as `http` (the default) and crash on every event.
    message = _refusal(tmp_path, "--target", "hello_pubsub")
    assert "hello_pubsub(event, context)" in message
    assert "--signature-type hello_pubsub=TYPE" in message
    assert "[tool.runrun.signature-types]" in message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--signature-type", "hello_pubsub=evnt"], "unknown signature type 'evnt'"),
        (["--signature-type", "audit=event", *FLAGS], "its decorator registers it as 'http'"),
        (["--signature-type", "nope=event", *FLAGS], "names 'nope', which is not a function"),
        (["--target", "missing", *FLAGS], "--target names 'missing', which is not a function"),
        (["--signature-type", "hello_async=cloudevent", *FLAGS], "decorator registers it"),
        # Both servers serve async targets (through the adapter); any other is refused.
        (["--server", "uwsgi", *FLAGS], "argument --server: invalid choice: 'uwsgi'"),
        (["--workers", "0", *FLAGS], "argument --workers: must be >= 1"),
    ],
)
def test_bad_configuration_is_refused_at_start(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    assert expected in _refusal(tmp_path, *args)


def test_a_bad_function_signature_type_in_the_environment_is_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, env={"FUNCTION_SIGNATURE_TYPE": "pubsub"})
    assert "unknown signature type 'pubsub' in FUNCTION_SIGNATURE_TYPE" in message


def test_a_server_runrun_does_not_have_is_refused_from_the_environment(tmp_path: Path) -> None:
    message = _refusal(tmp_path, *FLAGS, env={"RUNRUN_SERVER": "uwsgi"})
    assert "RUNRUN_SERVER must be one of granian, gunicorn, got 'uwsgi'" in message


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOK": "3"}, "RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOK"),
        ({"RUNRUN_TARGET_QUEUES": "github_webhook=local,helo=local"}, "RUNRUN_TARGET_QUEUES=helo"),
    ],
)
def test_a_bundle_setting_naming_no_target_is_refused_at_start(
    tmp_path: Path, env: dict[str, str], named: str
) -> None:
    # The webhook bundle's own settings, checked by its hooks before any worker starts.
    message = _refusal(tmp_path, source=corpus.MAIN_SOURCE, env=env)
    assert f"{named}: no such target (the targets: " in message
    assert "github_webhook" in message


def test_a_setting_naming_a_sibling_is_allowed_when_one_target_is_served(tmp_path: Path) -> None:
    # Deployed one function at a time, the functions may share one environment.
    env = base_env(tmp_path / "state", RUNRUN_DEADLINE_SECONDS_STRIPE_WEBHOOK="3")
    server = runrun("one-target", corpus.MAIN_SOURCE, env, tmp_path, "--target", "github_webhook")
    try:
        assert server.wait_ready().request("GET", "/github_webhook").status == 405
    finally:
        server.stop()


TYPED_SOURCE = """
class Greeting:
    def __init__(self, name):
        self.name = name

    @staticmethod
    def from_dict(data):
        return Greeting(data["name"])

    def to_dict(self):
        return {"hello": self.name}


def greet(greeting: Greeting) -> Greeting:
    return greeting
"""


def test_an_undecorated_typed_function_crashes_under_functions_framework_and_is_refused(
    tmp_path: Path,
) -> None:
    # functions-framework takes a typed function's input type from @typed alone: served
    # undecorated with `--signature-type typed`, every request answers 500 there.
    source = tmp_path / "main.py"
    source.write_text(TYPED_SOURCE)
    env = base_env(tmp_path / "state")
    reference = functions_framework("greet", source, env, tmp_path, "--signature-type", "typed")
    try:
        reference.wait_ready()
        answer = reference.request(
            "POST", "/", (("Content-Type", "application/json"),), b'{"name":"ada"}'
        )
        assert answer.status == 500 and ("x-google-status", "crash") in answer.headers
    finally:
        reference.stop()
    for args, env_extra in [
        (["--signature-type", "greet=typed"], {}),
        (["--target", "greet"], {"FUNCTION_SIGNATURE_TYPE": "typed"}),
    ]:
        message = _refusal(tmp_path, *args, source=source, env=env_extra)
        assert (
            "greet has signature type 'typed'" in message
            and "@functions_framework.typed" in message
        )


def test_two_typed_targets_with_one_name_are_refused(tmp_path: Path) -> None:
    for module in ("first", "second"):
        (tmp_path / f"{module}.py").write_text(
            "import functions_framework\n"
            "from typing import Any\n\n"
            "class In:\n"
            "    @staticmethod\n"
            "    def from_dict(data: Any) -> 'In':\n"
            "        return In()\n\n"
            "@functions_framework.typed(In)\n"
            "def convert(value):\n"
            "    return None\n"
        )
    (tmp_path / "main.py").write_text("from first import convert\nimport second\n")
    message = _refusal(tmp_path, source=tmp_path / "main.py")
    assert "target 'convert' is defined in first and second" in message


def test_an_async_background_function_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "main.py"
    source.write_text("async def later(data, context):\n    return None\n")
    message = _refusal(tmp_path, "--signature-type", "later=event", source=source)
    assert "'later' is async (ASGI) with signature type 'event'" in message


def test_two_targets_with_one_name_are_refused(tmp_path: Path) -> None:
    message = _refusal(tmp_path, source=corpus.HERE / "dup_main.py")
    assert "target 'hook' is defined in dup_alpha and dup_beta" in message


def test_pyproject_types_apply_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text(SOURCE.read_text())
    (project / "pyproject.toml").write_text(
        '[tool.runrun.signature-types]\nhello_pubsub = "event"\non_storage_object = "blob"\n'
    )
    message = _refusal(tmp_path, source=project / "main.py")
    assert "unknown signature type 'blob'" in message and "pyproject.toml" in message
