"""Finding 13: on a public Cloud Run service, no event target runs for a caller without a
Google-signed token. A forged CloudEvent to every event target of the service is 401 and
runs nothing; a real push (an OIDC token signed by a key whose certificate the test serves,
from the push account, for the right audience) runs the target, under runrun's own app.
The check accepts what process_delivery's own check accepts (the same settings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import werkzeug.test

from runrun import build_app, discover
from runrun._discover import CLOUDEVENT, EVENT
from shared import reload_settings
from tests.shared.providers.test_providers_oidc import (
    ACCOUNT,
    AUDIENCE,
    OTHER_KEY,
    certs_server,
    token,
)
from tests.support.runrun_scenarios import corpus

__all__ = ["certs_server"]  # the module fixture serving the signing key's certificate

EVENTS = corpus.HERE / "event_triggers"


def cloud_event(target: str) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"forged-{target}",
        "source": "//pubsub.googleapis.com/projects/acme/topics/orders",
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "datacontenttype": "application/json",
        "data": {"message": {"data": "e30=", "messageId": "1", "attributes": {}}},
    }


@pytest.fixture
def on_cloud_run(monkeypatch: pytest.MonkeyPatch, certs_server: str) -> None:
    monkeypatch.setenv("K_SERVICE", "runrun")
    monkeypatch.setenv("PUSH_AUDIENCE", f"runrun-push, {AUDIENCE}")
    monkeypatch.setenv("PUSH_SERVICE_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("RUNRUN_OIDC_CERTS_URL", certs_server)
    reload_settings()


def client() -> tuple[werkzeug.test.Client, list[str]]:
    discovery = discover(EVENTS / "events_main.py")
    events = [t.name for t in discovery.targets if t.signature_type in (CLOUDEVENT, EVENT)]
    return werkzeug.test.Client(build_app(discovery)), events


def post(c: werkzeug.test.Client, target: str, **headers: str) -> werkzeug.test.TestResponse:
    return c.post(
        f"/{target}",
        data=json.dumps(cloud_event(target)),
        headers={"Content-Type": "application/cloudevents+json", **headers},
    )


def test_finding_13_a_forged_cloudevent_to_any_event_target_is_401(
    on_cloud_run: None, capsys: pytest.CaptureFixture[str]
) -> None:
    c, events = client()
    assert set(events) == {"on_order", "on_invoice", "on_upload", "on_anything"}
    for target in events:
        for headers in (
            {},
            {"Authorization": "Basic dXNlcjpwYXNz"},
            {"Authorization": f"Bearer {token(key=OTHER_KEY)}"},  # signed by someone else
            {"Authorization": f"Bearer {token(aud='https://elsewhere.example')}"},
            {"Authorization": f"Bearer {token(email='intruder@acme.iam.gserviceaccount.com')}"},
            {"Authorization": f"Bearer {token(email_verified=False)}"},
            {"Authorization": f"Bearer {token(iss='https://evil.example')}"},
        ):
            answer = post(c, target, **headers)
            assert answer.status_code == 401, (target, headers, answer.get_data())
            assert answer.get_data(as_text=True).startswith(f"event target {target}: ")
    assert "forged-" not in capsys.readouterr().out  # no handler ran


def test_finding_13_a_real_push_from_the_push_account_runs_the_target(
    on_cloud_run: None, capsys: pytest.CaptureFixture[str]
) -> None:
    c, _ = client()
    for audience in ("runrun-push", AUDIENCE):  # a push subscription's, Eventarc's URL
        answer = post(c, "on_invoice", Authorization=f"Bearer {token(aud=audience)}")
        assert answer.status_code == 200, answer.get_data()
    assert capsys.readouterr().out.count("invoice forged-on_invoice") == 2
    # HTTP targets verify their own callers: never wrapped.
    assert c.get("/hook").status_code == 200


def test_a_service_without_the_settings_refuses_events_naming_them(
    on_cloud_run: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PUSH_AUDIENCE")
    c, _ = client()
    answer = post(c, "on_order", Authorization=f"Bearer {token()}")
    assert answer.status_code == 500
    assert "PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("k_service", "switch", "wrapped"), [("", "", False), ("", "1", True), ("runrun", "0", False)]
)
def test_off_outside_cloud_run_unless_turned_on(
    on_cloud_run: None, monkeypatch: pytest.MonkeyPatch, k_service: str, switch: str, wrapped: bool
) -> None:
    monkeypatch.setenv("K_SERVICE", k_service)
    monkeypatch.setenv("RUNRUN_EVENT_AUTH", switch)
    c, _ = client()
    assert (post(c, "on_order").status_code == 401) is wrapped


def test_process_delivery_and_the_wrapper_read_the_same_settings() -> None:
    """What the wrapper accepts is what process_delivery's check accepts: the same two
    settings, the same issuers, the same skew."""
    from runrun import _event_auth
    from shared.providers import _oidc

    assert (_oidc.AUDIENCE_ENV, _oidc.ACCOUNT_ENV) == ("PUSH_AUDIENCE", "PUSH_SERVICE_ACCOUNT")
    assert _event_auth.GOOGLE_ISSUERS == _oidc.GOOGLE_ISSUERS
    assert _event_auth.CLOCK_SKEW_SECONDS == _oidc.CLOCK_SKEW_SECONDS
    text = Path(_event_auth.__file__).read_text()
    assert '"PUSH_AUDIENCE"' in text and '"PUSH_SERVICE_ACCOUNT"' in text
