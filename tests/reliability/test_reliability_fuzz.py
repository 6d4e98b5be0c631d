"""Bad input: property-based fuzzing of every target of main.py through runrun's one app,
in process, on the embedded backends; and a body over the limit over a real socket.

For every case: no answer >= 500 and no traceback in any log record. CI mode runs a few
hundred cases per target; long mode (RUNRUN_LONG_TESTS=1) 10,000 per target.
"""

from __future__ import annotations

import logging
import socket
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from werkzeug.test import Client

from runrun import build_app, discover
from shared import reload_settings
from tests.support.providers_kit import clear_provider_env
from tests.support.reliability_fuzz import ENV, FUZZ_MAX_BODY, Case, cases
from tests.support.reliability_kit import find_secrets, report, scale, secret_needles
from tests.support.runrun_scenarios.processes import Server, base_env, runrun

ROOT = Path(__file__).resolve().parents[2]
TARGETS = [t.name for t in discover(ROOT / "main.py").targets]
CASES = scale(120, 10_000)


class Tracebacks(logging.Handler):
    """Every log record that carries an exception or a stack."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage() + " " + repr(getattr(record, "__dict__", {})))
        if record.exc_info or record.stack_info or "Traceback" in record.getMessage():
            self.records.append(record)


@pytest.fixture(scope="module")
def app() -> object:
    return build_app(discover(ROOT / "main.py"))


@pytest.fixture
def fuzz_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tracebacks]:
    clear_provider_env(monkeypatch)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RUNRUN_STORE", "memory")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("RUNRUN_MAX_BODY_BYTES", str(FUZZ_MAX_BODY))
    reload_settings()
    handler = Tracebacks()
    loggers = [logging.getLogger(), logging.getLogger("runrun")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def _send(client: Client, target: str, case: Case) -> tuple[int, bytes, dict[str, str]]:
    response = client.open(
        f"/{target}{case.path}",
        method=case.method,
        query_string=case.query,
        headers=case.headers,
        data=case.body,
    )
    body = response.get_data()
    return response.status_code, body, dict(response.headers)


@pytest.mark.parametrize("target", TARGETS)
def test_fuzzed_requests_never_crash_a_target(
    app: object,
    fuzz_env: Tracebacks,
    target: str,
    request: pytest.FixtureRequest,
    capfd: pytest.CaptureFixture[str],
) -> None:
    client = Client(app)  # type: ignore[arg-type]
    statuses: Counter[int] = Counter()
    kinds: Counter[str] = Counter()
    crashes: list[str] = []
    too_large_unrefused: list[str] = []
    answers: list[bytes] = []

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(target))
    def run(case: Case) -> None:
        status, body, headers = _send(client, target, case)
        statuses[status] += 1
        kinds[f"{case.label}{'+' + case.signed if case.signed else ''}"] += 1
        answers.append(body + repr(headers).encode())
        if status >= 500:
            crashes.append(f"{status} {body[:200]!r} for {case!r:.3000}")
        # process_delivery is functions-framework's CloudEvent parsing, not the receive
        # pipeline: Pub/Sub bounds its bodies (10 MB), RUNRUN_MAX_BODY_BYTES does not.
        limited = target != "process_delivery"
        if limited and len(case.body) > FUZZ_MAX_BODY and status not in (413, 405):
            too_large_unrefused.append(f"{status} for {len(case.body)} bytes: {case}"[:300])

    started = time.monotonic()
    run()
    seconds = time.monotonic() - started
    out, err = capfd.readouterr()
    tracebacks = len(fuzz_env.records) + out.count("Traceback") + err.count("Traceback")
    leaked = find_secrets([*answers, out, err, *fuzz_env.texts], secret_needles(*ENV.values()))
    report(
        request,
        f"4 fuzz {target}",
        {
            "cases": sum(statuses.values()),
            "answers": {str(k): v for k, v in sorted(statuses.items())},
            "answers >= 500": sum(v for k, v in statuses.items() if k >= 500),
            "tracebacks": tracebacks,
            "secrets found": len(leaked),
            "case kinds": dict(sorted(kinds.items())),
            "seconds": round(seconds, 1),
        },
    )
    formatted = [
        logging.Formatter().formatException(r.exc_info) if r.exc_info else r.getMessage()
        for r in fuzz_env.records[:3]
    ]
    assert not crashes, [*crashes[:5], *formatted]
    assert tracebacks == 0, [*formatted, err[-2000:]]
    assert not too_large_unrefused, too_large_unrefused[:5]
    assert leaked == []


# --- a body over the limit, over a real socket ----------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limit")
    env = base_env(folder / "state", RUNRUN_MAX_BODY_BYTES="1048576", **ENV)
    process = runrun("limit", ROOT / "main.py", env, folder, "--workers", "1")
    try:
        yield process.wait_ready("/_runrun/health")
    finally:
        process.stop()


def _head_only(port: int, target: str, length: int, sent_body: bytes) -> tuple[bytes, int]:
    """Send headers announcing `length` bytes and only `sent_body`; the answer read without
    sending the rest, and how many bytes of the body were sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            f"POST /{target} HTTP/1.1\r\nHost: localhost\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        ).encode()
        sock.sendall(head + sent_body)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        head_end = received.find(b"\r\n\r\n")
        headers = received[:head_end].decode("latin-1").lower()
        if "content-length:" in headers:
            wanted = int(headers.split("content-length:")[1].split("\r\n")[0])
            while len(received) - head_end - 4 < wanted:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
        return received, len(sent_body)


@pytest.mark.parametrize("target", [t for t in TARGETS if t != "process_delivery"])
def test_body_over_the_limit_is_refused_before_it_is_read(
    server: Server, target: str, request: pytest.FixtureRequest
) -> None:
    announced = 64 * 1024 * 1024  # 64 MiB announced; 16 KiB actually sent
    answer, sent = _head_only(server.port, target, announced, b'{"id": "' + b"x" * 16_000)
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 413"), answer[:500]
    assert b'"error"' in answer
    if target == TARGETS[0] or target == "github_webhook":
        report(
            request,
            f"4 body over the limit ({target})",
            {"announced bytes": announced, "bytes sent": sent, "answer": status_line.decode()},
        )


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json"])
def test_twilio_url_that_cannot_be_rebuilt_is_401(
    app: object, fuzz_env: Tracebacks, content_type: str
) -> None:
    # Found by the long mode: an X-Forwarded-Host with an unclosed "[" made urlsplit raise.
    client = Client(app)  # type: ignore[arg-type]
    headers = {
        "Content-Type": content_type,
        "X-Twilio-Signature": "AAAA",
        "X-Forwarded-Host": "[bad",
    }
    response = client.post("/twilio_webhook", headers=headers, data=b"a=b")
    assert response.status_code == 401
    assert fuzz_env.records == []
