"""Test isolation and the real emulators.

Every test gets a clean environment (no secrets, no backends, a private state dir) and
fresh process-wide clients. Tests marked `emulators` get the real Firestore and Pub/Sub
emulators, started once per session; where this machine lacks them those tests are skipped
with one loud reason, printed again at the end of the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import reload_settings, stop_runtime
from tests.support.bqemulator import BigQueryEmulator
from tests.support.emulators import EmulatorProcesses, Emulators
from tests.support.fcm_standin import FcmStandIn, fcm_stand_in
from tests.support.tasks_emulator import TasksEmulator

ROOT = Path(__file__).resolve().parent.parent

_PREFIXES = (
    "RUNRUN_",
    "FIRESTORE_EMULATOR",
    "PUBSUB_EMULATOR",
    "BIGQUERY_EMULATOR",
    "CLOUD_TASKS_EMULATOR",
    "GOOGLE_CLOUD_PROJECT",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "K_",
    "OTEL_",
    "PROMETHEUS_MULTIPROC_DIR",  # named by the metrics' start hook (shared/metrics/_multiproc.py)
)
# functions-framework's own: runrun (like functions-framework) writes FUNCTION_TARGET into
# the process's environment when it serves one target, and reads it as the target to serve.
# Cleared before and after every test, never restored: a module-scoped fixture built between
# two tests must not serve only the target an earlier test discovered.
_FRAMEWORK = (
    "FUNCTION_TARGET",
    "FUNCTION_SIGNATURE_TYPE",
    "FUNCTION_NAME",
    "FUNCTION_TRIGGER_TYPE",
)
_SECRETS = (
    "WEBHOOK_SECRET",
    "GITHUB_WEBHOOK_SECRET",
    "STRIPE_WEBHOOK_SECRET",
    "SLACK_SIGNING_SECRET",
    "GCP_PROJECT",
    "DIALOGFLOW_WEBHOOK_SECRET",
    "DIALOGFLOW_BASIC_AUTH",
    "DIALOGFLOW_AUDIENCE",
    "DIALOGFLOW_SERVICE_AGENT",
)
_skip_reason: list[str] = []


def reset_process_state() -> None:
    """Stop and forget this process's runtime (its clients, worker and stores) and read the
    settings again: the next use builds a fresh runtime from the environment of the moment."""
    stop_runtime(timeout=10)
    reload_settings()


def _clear_framework_env() -> None:
    for name in _FRAMEWORK:
        os.environ.pop(name, None)


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    _clear_framework_env()
    for name in list(os.environ):
        if name.startswith(_PREFIXES) or name in _SECRETS:
            monkeypatch.delenv(name)
    state = tmp_path / "state"
    monkeypatch.setenv("RUNRUN_STATE_DIR", str(state))
    reset_process_state()
    yield state
    reset_process_state()
    _clear_framework_env()


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulators]:
    processes = EmulatorProcesses(tmp_path_factory.mktemp("emulators"))
    try:
        running = processes.start()
    except RuntimeError as exc:
        processes.stop()
        reason = f"EMULATOR TESTS SKIPPED: {exc}"
        _skip_reason.append(reason)
        pytest.skip(reason)
    yield running
    processes.stop()


@pytest.fixture(scope="session")
def tasks_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TasksEmulator]:
    """PyPI's Cloud Tasks emulator on 127.0.0.1 (its own virtualenv, built on first use)."""
    emulator = TasksEmulator(tmp_path_factory.mktemp("tasks-emulator"))
    try:
        emulator.start()
    except (RuntimeError, OSError) as exc:
        emulator.stop()
        reason = f"CLOUD TASKS EMULATOR TESTS SKIPPED: {exc}"
        _skip_reason.append(reason)
        pytest.skip(reason)
    yield emulator
    emulator.stop()


@pytest.fixture
def on_emulators(emulators: Emulators, monkeypatch: pytest.MonkeyPatch) -> Emulators:
    """Point the project at the emulators, with a collection and topics of the test's own."""
    suffix = uuid.uuid4().hex[:10]
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulators.firestore_host)
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", emulators.pubsub_host)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "runrun-test")
    monkeypatch.setenv("RUNRUN_IDEMPOTENCY_COLLECTION", f"keys-{suffix}")
    monkeypatch.setenv("RUNRUN_EVENTS_COLLECTION", f"events-{suffix}")
    monkeypatch.setenv("RUNRUN_TOPIC", f"deliveries-{suffix}")
    monkeypatch.setenv("RUNRUN_COMMAND_TOPIC", f"commands-{suffix}")
    reset_process_state()
    return emulators


@pytest.fixture(scope="session")
def bigquery_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The BigQuery emulator's host:port, started once per session (skipped loudly without it)."""
    emulator = BigQueryEmulator(tmp_path_factory.mktemp("bqemulator"))
    try:
        host = emulator.start()
    except RuntimeError as exc:
        emulator.stop()
        reason = f"BIGQUERY EMULATOR TESTS SKIPPED: {exc}"
        _skip_reason.append(reason)
        pytest.skip(reason)
    yield host
    emulator.stop()


@pytest.fixture
def on_bigquery(
    bigquery_emulator: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """The bigquery processor switched on, into a dataset of the test's own on the emulator;
    yields (host, table id)."""
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    from tests.support.bqemulator import PROJECT

    dataset = f"runrun_{uuid.uuid4().hex[:10]}"
    client = bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=f"http://{bigquery_emulator}"),
    )
    client.create_dataset(dataset, timeout=10)
    client.close()
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", bigquery_emulator)
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", PROJECT)
    monkeypatch.setenv("RUNRUN_BIGQUERY_TABLE", f"{dataset}.deliveries")
    monkeypatch.setenv("RUNRUN_BIGQUERY_TIMEOUT_SECONDS", "5")
    reset_process_state()
    yield bigquery_emulator, f"{PROJECT}.{dataset}.deliveries"


@pytest.fixture
def fcm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FcmStandIn]:
    """The FCM stand-in, with the SDK's FCM endpoint and its credentials pointed at it."""
    from firebase_admin import messaging

    with fcm_stand_in(tmp_path) as (stand_in, credentials):
        monkeypatch.setattr(messaging._MessagingService, "FCM_URL", stand_in.fcm_url)
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))
        reset_process_state()
        yield stand_in
        reset_process_state()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for reason in dict.fromkeys(_skip_reason):
        terminalreporter.write_sep("!", reason, red=True, bold=True)
