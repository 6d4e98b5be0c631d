"""Traces in the deploy plan: RUNRUN_TRACES=on (or cloud-trace) is carried to the service, and
the one-time setup enables the Telemetry and Cloud Trace APIs and lets the runtime account
write spans (roles/telemetry.tracesWriter); with traces off nothing of it is added."""

from __future__ import annotations

import shlex

import pytest

from tests.runrun.deploy.test_runrun_deploy_processors import RUNTIME, grants
from tests.support.deploy_scenarios import ROOT, make_plans

TRACES_WRITER = ("acme", RUNTIME, "roles/telemetry.tracesWriter")


@pytest.mark.parametrize("value", ["on", "cloud-trace"])
def test_traces_on_cloud_run_get_their_api_role_and_setting(value: str) -> None:
    plans = make_plans("run", ROOT / "main.py", {"RUNRUN_TRACES": value})
    lines = plans.setup.splitlines()

    assert TRACES_WRITER in grants(lines)
    [enabled] = [line for line in lines if line.startswith("gcloud services enable")]
    assert "telemetry.googleapis.com" in enabled and "cloudtrace.googleapis.com" in enabled
    [deploy] = [shlex.split(line) for line in plans.step if line.startswith("gcloud run deploy")]
    [env] = [w for w in deploy if w.startswith("--set-env-vars=")]
    assert f"RUNRUN_TRACES={value}" in env


@pytest.mark.parametrize("env", [{}, {"RUNRUN_TRACES": "off"}, {"RUNRUN_TRACES": "otlp"}])
def test_nothing_of_cloud_trace_without_it(env: dict[str, str]) -> None:
    plans = make_plans("run", ROOT / "main.py", env)
    assert TRACES_WRITER not in grants(plans.setup.splitlines())
    assert "telemetry.googleapis.com" not in plans.setup
