"""Traces off (the default) cost nothing: a worker started as runrun starts it, a signed
delivery received, handed to the local queue and processed, and not one module of
OpenTelemetry loaded. The same run with RUNRUN_TRACES=otlp loads the SDK (the control: the
check can fail)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.support.otlp_receiver import otlp_receiver
from tests.support.pubsub_util import ROOT, SECRET

SCENARIO = r"""
import hashlib, hmac, json, sys, time, uuid
import functions_framework
from shared import get_settings
from shared.serving import ServingHooks

hooks = ServingHooks("functions")
hooks.worker_started()  # what runrun serve does in each worker before it serves
from shared import current_runtime
from shared.processors.store import EventsSettings
app = functions_framework.create_app("github_webhook", source="main.py")
delivery_id = str(uuid.uuid4())
body = json.dumps({"ref": "refs/heads/feature", "repository": {"full_name": "o/r"}}).encode()
signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
           "X-GitHub-Delivery": delivery_id, "X-Hub-Signature-256": signature}
assert app.test_client().post("/", data=body, headers=headers).status_code == 200
events = current_runtime().documents(EventsSettings.from_env(get_settings()).collection)
deadline = time.monotonic() + 120  # a safety net: the loop ends when the worker stored it
while events.get(delivery_id) is None:
    assert time.monotonic() < deadline, "the delivery was never processed"
    time.sleep(0.05)
hooks.worker_stopping()
print(json.dumps(sorted(m for m in sys.modules if m.startswith("opentelemetry"))))
""".replace("SECRET", repr(SECRET))


def loaded_modules(state: Path, **extra: str) -> list[str]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "RUNRUN_STATE_DIR": str(state),
        "RUNRUN_STORE": "sqlite",
        "RUNRUN_QUEUE": "local",
        "RUNRUN_DEPLOY_VIA": "topic",
        "RUNRUN_INSPECT": "0",
        "GITHUB_WEBHOOK_SECRET": SECRET,
        **extra,
    }
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modules: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return modules


def test_with_traces_off_no_module_of_opentelemetry_is_loaded(tmp_path: Path) -> None:
    assert loaded_modules(tmp_path / "off") == []


def test_with_traces_on_the_sdk_is_loaded_the_control(tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        modules = loaded_modules(
            tmp_path / "on",
            RUNRUN_TRACES="otlp",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        )
        assert "opentelemetry.sdk.trace" in modules
        assert {s.name for s in receiver.spans} >= {"receive github_webhook", "hand off"}
