"""Parity, in-process: each corpus request sent to functions-framework's own app for the
target (`create_app`, at `/`) and to runrun's one app (at `/<target>`) gets the same answer."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import functions_framework
import pytest
from werkzeug.test import Client

from runrun import build_app, discover, secrets_table
from tests.conftest import reset_process_state
from tests.support.runrun_scenarios import corpus
from tests.support.runrun_scenarios.corpus import Answer, Case

App = Callable[..., Any]


@pytest.fixture
def ff_globals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """functions-framework's create_app writes os.environ, sys.modules and sys.path: undo it."""
    for name in ("FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "SCENARIO_EVENTS_DIR"):
        monkeypatch.setenv(name, "")
    modules = {name: sys.modules.get(name) for name in ("main", "echo_main")}
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name, module in modules.items():
        if module is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = module


def send(app: App, case: Case, path: str) -> Answer:
    client = Client(app)
    response = client.open(path, method=case.method, headers=list(case.headers), data=case.body)
    try:
        return corpus.answer(response.status_code, response.headers.items(), response.get_data())
    finally:
        response.close()


def run_side(
    app_for: Callable[[str], App], cases: list[Case], path_of: Callable[[Case], str]
) -> list[Answer]:
    return [send(app_for(case.target), case, path_of(case)) for case in cases]


def compare(cases: list[Case], reference: list[Answer], ours: list[Answer]) -> None:
    mismatches = [
        f"{case}\n  functions-framework: {ref}\n  runrun:              {got}"
        for case, ref, got in zip(cases, reference, ours, strict=True)
        if ref != got
    ]
    assert not mismatches, "\n".join(mismatches)


def ff_apps(source: Path, names: list[str], types: dict[str, str] | None = None) -> dict[str, App]:
    apps = {
        # Explicit: create_app leaves the last type it used in FUNCTION_SIGNATURE_TYPE.
        name: functions_framework.create_app(name, str(source), (types or {}).get(name, "http"))
        for name in names
    }
    # create_app leaves the last target in FUNCTION_TARGET, which runrun would serve alone
    # (ff_globals restores both variables after the test).
    os.environ["FUNCTION_TARGET"] = os.environ["FUNCTION_SIGNATURE_TYPE"] = ""
    return apps


def use_state(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """A store and queue of this side's own, so duplicates look the same on both sides."""
    monkeypatch.setenv("RUNRUN_STATE_DIR", str(folder))
    reset_process_state()


def test_scenario_targets_answer_identically(
    ff_globals: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    discovery = discover(corpus.ECHO_SOURCE)
    cases = corpus.echo_cases()
    assert {c.target for c in cases} == {t.name for t in discovery.targets} - {"slow"}

    monkeypatch.setenv("SCENARIO_EVENTS_DIR", str(tmp_path / "ff-events"))
    (tmp_path / "ff-events").mkdir()
    targets = sorted({c.target for c in cases})
    reference_apps = ff_apps(corpus.ECHO_SOURCE, targets, corpus.ECHO_SIGNATURE_TYPES)
    reference = run_side(reference_apps.__getitem__, cases, Case.ff_path)

    monkeypatch.setenv("SCENARIO_EVENTS_DIR", str(tmp_path / "rr-events"))
    (tmp_path / "rr-events").mkdir()
    ours_app = build_app(discovery)
    ours = run_side(lambda _: ours_app, cases, Case.runrun_path)

    compare(cases, reference, ours)
    # The CloudEvent handler saw the same events, parsed the same way, in every mode.
    ff_events = {p.name: json.loads(p.read_text()) for p in (tmp_path / "ff-events").iterdir()}
    rr_events = {p.name: json.loads(p.read_text()) for p in (tmp_path / "rr-events").iterdir()}
    # 3 CloudEvents to `events`; 2 legacy events and 3 CloudEvents to each of `background`
    # and `plain_events`, every one converted to the form the function takes.
    assert sorted(name.split("-")[0] for name in ff_events).count("background") == 5
    assert sorted(name.split("-")[0] for name in ff_events).count("plain") == 5
    assert len(ff_events) == 13
    assert ff_events == rr_events


def main_targets() -> list[tuple[str, str, str | None]]:
    targets = discover(corpus.MAIN_SOURCE).targets
    secrets = secrets_table(targets)
    return [(t.name, t.signature_type, (secrets.get(t.name) or (None,))[0]) for t in targets]


def test_every_main_target_answers_identically(
    ff_globals: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name, value in corpus.SECRETS.items():
        monkeypatch.setenv(name, value)
    targets = main_targets()
    cases = corpus.main_cases(targets)
    assert {c.target for c in cases} == {name for name, _, _ in targets}

    use_state(monkeypatch, tmp_path / "ff")
    reference_apps = ff_apps(corpus.MAIN_SOURCE, [name for name, _, _ in targets])
    reference = run_side(reference_apps.__getitem__, cases, Case.ff_path)

    use_state(monkeypatch, tmp_path / "rr")
    ours_app = build_app(discover(corpus.MAIN_SOURCE))
    ours = run_side(lambda _: ours_app, cases, Case.runrun_path)

    compare(cases, reference, ours)
    # The corpus reached the interesting answers, not only errors.
    statuses = {(str(case), answer.status) for case, answer in zip(cases, ours, strict=True)}
    assert ("github_webhook:good signature", 200) in statuses
    # No main.py target crashes on any input any more: the crash answer's parity is the
    # echo scenarios' (test_scenario_targets_answer_identically).
    assert not any(("x-google-status", "crash") in a.headers for a in ours)
    assert any(("idempotent-replayed", "true") in a.headers for a in ours)
    assert os.environ["RUNRUN_STATE_DIR"].endswith("rr")
