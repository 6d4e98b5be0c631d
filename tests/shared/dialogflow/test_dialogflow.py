"""`dialogflow_webhook`: requests built with Dialogflow CX's own types and serialised as the
agent serialises them; every answer parsed strictly as a WebhookResponse. Through real
`runrun serve` and `functions-framework --target dialogflow_webhook` processes, and
in-process for budgets, auth forms and failures."""

from __future__ import annotations

import base64
import json
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import pytest
from google.cloud.dialogflowcx_v3 import PageInfo, SessionInfo, WebhookRequest, WebhookResponse

from functions.fulfilment import handlers
from runrun._cli import main as cli
from shared import Runtime, reload_settings
from shared.dialogflow import FulfilmentRequest, Reply
from tests.shared.providers.test_providers_oidc import certs_server, token  # noqa: F401 - the fixture too
from tests.support.pubsub_util import make_app
from tests.support.runrun_scenarios.processes import Server, base_env, functions_framework, runrun

ROOT = Path(__file__).resolve().parents[3]
SECRET = "df-secret-5a1c9e"
AGENT = "projects/p/locations/global/agents/a"
SHOPIFY_ORDER = {"id": 820982911946154508, "name": "#9999", "financial_status": "paid"}
STRIPE_EVENT = {
    "id": "evt_1",
    "type": "payment_intent.succeeded",
    "data": {"object": {"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "status": "succeeded"}},
}


def webhook_request(
    tag: str = "order-status", response_id: str | None = None, **parameters: Any
) -> bytes:
    """A WebhookRequest as the agent sends it: proto JSON, camelCase, defaults left out."""
    request = WebhookRequest(
        detect_intent_response_id=response_id or str(uuid.uuid4()),
        fulfillment_info=WebhookRequest.FulfillmentInfo(tag=tag),
        session_info=SessionInfo(session=f"{AGENT}/sessions/s-1", parameters=parameters),
        page_info=PageInfo(current_page=f"{AGENT}/flows/f/pages/p", display_name="Order"),
        intent_info=WebhookRequest.IntentInfo(
            last_matched_intent=f"{AGENT}/intents/i", display_name="order.status"
        ),
        text="where is my order",
        language_code="en",
    )
    return WebhookRequest.to_json(request, indent=0).encode()


def parsed(body: bytes) -> WebhookResponse:
    return WebhookResponse.from_json(body, ignore_unknown_fields=False)


def texts(response: WebhookResponse) -> list[str]:
    return [t for m in response.fulfillment_response.messages for t in m.text.text]


def store_orders() -> None:
    """The deliveries the `store` processor would have kept, on the embedded store."""
    runtime = Runtime(reload_settings())
    events = runtime.documents("webhook_events")
    events.put(
        "shop-1",
        {"source": "shopify_webhook", "received_at": "2030-01-01", "payload": SHOPIFY_ORDER},
    )
    events.put(
        "evt_1", {"source": "stripe_webhook", "received_at": "2030-01-01", "payload": STRIPE_EVENT}
    )
    runtime.stop()


HEADERS = (("Content-Type", "application/json"), ("X-Dialogflow-Secret", SECRET))


@pytest.fixture(scope="module", params=["runrun", "functions-framework"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("dialogflow")
    env = base_env(folder / "state", DIALOGFLOW_WEBHOOK_SECRET=SECRET, RUNRUN_STORE="sqlite")
    if request.param == "runrun":
        process = runrun("dialogflow", ROOT / "main.py", env, folder, "--workers", "1")
        ready = "/_runrun/health"
    else:
        process = functions_framework("dialogflow_webhook", ROOT / "main.py", env, folder)
        ready = "/"
    try:
        served = process.wait_ready(ready)
        served.state = folder / "state"  # type: ignore[attr-defined]
        yield served
    finally:
        process.stop()


def path_of(server: Server) -> str:
    return "/dialogflow_webhook" if server.name == "dialogflow" else "/"


def test_order_status_answers_from_stored_deliveries(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_STATE_DIR", str(server.state))  # type: ignore[attr-defined]
    store_orders()
    cases = {"#9999": "#9999 is paid and unfulfilled.", "pi_3MtwBwLkdIwHu7ix28a3tqPa": None}
    for said, expected in cases.items():
        body = webhook_request(order_id=said)
        answer = server.request("POST", path_of(server), HEADERS, body)
        assert answer.status == 200, answer.body
        response = parsed(answer.body)
        assert texts(response) == [expected or f"{said} is succeeded."]
        assert response.session_info.parameters["order_status"] in (
            "paid and unfulfilled",
            "succeeded",
        )
        # The agent's retry of the same call gets the same answer, replayed.
        again = server.request("POST", path_of(server), HEADERS, body)
        assert again.body == answer.body
        assert dict(again.headers).get("idempotent-replayed") == "true"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"hello": "world"}', "none of its fields"),
        (b'{"fulfillmentInfo": "order-status"}', "fulfillmentInfo must be an object"),
        (b'{"text": "hi", "sessionInfo": {}}', "missing fulfillmentInfo.tag"),
        (b'{"fulfillmentInfo": {"tag": "order-status"}, "text": 3}', "text must be a string"),
        (webhook_request(tag="no-such-tag"), "unknown fulfillment tag 'no-such-tag'"),
    ],
    ids=["malformed", "array", "foreign", "wrong type", "no tag", "bad text", "unknown tag"],
)
def test_bad_input_is_a_clear_400(server: Server, body: bytes, message: str) -> None:
    answer = server.request("POST", path_of(server), HEADERS, body)
    assert answer.status == 400
    assert message in json.loads(answer.body)["error"]


@pytest.mark.parametrize(
    "headers",
    [
        (("Content-Type", "application/json"),),
        (("Content-Type", "application/json"), ("X-Dialogflow-Secret", "wrong")),
        (("Content-Type", "application/json"), ("Authorization", "Basic dTpw")),
    ],
    ids=["none", "wrong secret", "basic not configured"],
)
def test_wrong_auth_is_401(server: Server, headers: tuple[tuple[str, str], ...]) -> None:
    answer = server.request("POST", path_of(server), headers, webhook_request())
    assert answer.status == 401


# --- in process: budgets, failures, the other auth forms ----------------------------------


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> flask.Flask:
    monkeypatch.setenv("RUNRUN_STORE", "sqlite")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    monkeypatch.setenv("DIALOGFLOW_WEBHOOK_SECRET", SECRET)
    reload_settings()
    return make_app("dialogflow_webhook", monkeypatch)


def post(app: flask.Flask, body: bytes, headers: dict[str, str] | None = None) -> Any:
    sent = dict(HEADERS) if headers is None else headers
    return app.test_client().post("/", data=body, headers=sent)


@pytest.fixture
def slow_handler(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    release = threading.Event()
    monkeypatch.setattr(handlers, "_handlers", dict(handlers._handlers))

    @handlers.handler("slow")
    def slow(call: FulfilmentRequest, runtime: Runtime) -> Reply:
        release.wait(30)
        return Reply(messages=["done at last"])

    @handlers.handler("broken")
    def broken(call: FulfilmentRequest, runtime: Runtime) -> Reply:
        raise RuntimeError("bug")

    return release


def test_a_handler_out_of_budget_answers_the_fallback_and_records_its_own_answer(
    app: flask.Flask, slow_handler: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_DIALOGFLOW_BUDGET_SECONDS", "0.3")
    monkeypatch.setenv("RUNRUN_DIALOGFLOW_FALLBACK_TEXT", "One moment please.")
    reload_settings()
    body = webhook_request(tag="slow")
    answer = post(app, body)
    assert answer.status_code == 200
    assert texts(parsed(answer.data)) == ["One moment please."]
    slow_handler.set()
    # The late answer is recorded: the agent's retry of the call gets it.
    for _ in range(200):
        again = post(app, body)
        if texts(parsed(again.data)) == ["done at last"]:
            break
        slow_handler.wait(0.05)
    assert texts(parsed(again.data)) == ["done at last"]


def test_a_failing_handler_answers_the_fallback_not_a_5xx(
    app: flask.Flask, slow_handler: threading.Event
) -> None:
    answer = post(app, webhook_request(tag="broken"))
    assert answer.status_code == 200
    assert len(texts(parsed(answer.data))) == 1


def test_open_ticket_hands_off_and_answers_at_once(app: flask.Flask) -> None:
    answer = post(app, webhook_request(tag="open-ticket", issue="my parcel is late"))
    assert answer.status_code == 200
    response = parsed(answer.data)
    assert "ticket" in texts(response)[0]
    assert response.session_info.parameters["ticket_requested"] is True


def test_basic_auth(app: flask.Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIALOGFLOW_WEBHOOK_SECRET")
    monkeypatch.setenv("DIALOGFLOW_BASIC_AUTH", "agent:pa55word")
    reload_settings()
    good = base64.b64encode(b"agent:pa55word").decode()
    bad = base64.b64encode(b"agent:nope").decode()
    json_type = {"Content-Type": "application/json"}
    assert (
        post(app, webhook_request(), {**json_type, "Authorization": f"Basic {good}"}).status_code
        == 200
    )
    assert (
        post(app, webhook_request(), {**json_type, "Authorization": f"Basic {bad}"}).status_code
        == 401
    )
    assert (
        post(app, webhook_request(), {**json_type, "Authorization": "Basic %%%"}).status_code == 401
    )


def test_service_agent_id_token(
    app: flask.Flask,
    monkeypatch: pytest.MonkeyPatch,
    certs_server: str,  # noqa: F811
) -> None:
    agent = "service-123@gcp-sa-dialogflow.iam.gserviceaccount.com"
    audience = "https://runrun.example/dialogflow_webhook"
    monkeypatch.delenv("DIALOGFLOW_WEBHOOK_SECRET")
    monkeypatch.setenv("DIALOGFLOW_AUDIENCE", audience)
    monkeypatch.setenv("DIALOGFLOW_SERVICE_AGENT", agent)
    monkeypatch.setenv("RUNRUN_OIDC_CERTS_URL", certs_server)
    reload_settings()
    json_type = {"Content-Type": "application/json"}

    def bearer(**claims: Any) -> dict[str, str]:
        return {
            **json_type,
            "Authorization": f"Bearer {token(**{'aud': audience, 'email': agent, **claims})}",
        }

    assert post(app, webhook_request(), bearer()).status_code == 200
    assert post(app, webhook_request(), bearer(email="someone@example.com")).status_code == 401
    assert post(app, webhook_request(), bearer(aud="https://elsewhere")).status_code == 401
    assert (
        post(app, webhook_request(), {**json_type, "X-Dialogflow-Secret": SECRET}).status_code
        == 401
    )


def test_no_auth_configured_is_refused(app: flask.Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIALOGFLOW_WEBHOOK_SECRET")
    answer = post(app, webhook_request())
    assert answer.status_code == 500
    assert "DIALOGFLOW_WEBHOOK_SECRET" in answer.get_json()["error"]


def test_dev_mode_generates_the_secret_and_runrun_send_uses_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    env = base_env(state, RUNRUN_STORE="sqlite")  # no DIALOGFLOW_WEBHOOK_SECRET at all
    process = runrun("dialogflow-dev", ROOT / "main.py", env, tmp_path, "--dev", "--workers", "1")
    try:
        served = process.wait_ready("/_runrun/health")
        assert "DIALOGFLOW_WEBHOOK_SECRET=" in served.output()
        url = f"http://127.0.0.1:{served.port}/dialogflow_webhook"
        # `runrun send` runs with the same state dir and finds the generated secret there.
        os.environ["RUNRUN_STATE_DIR"] = str(state)  # the autouse fixture restores it
        reload_settings()
        for event in ("order-status", "open-ticket"):
            assert cli(["send", "dialogflow_webhook", "--event", event, "--url", url]) == 0
        assert cli(["send", "dialogflow_webhook", "--bad-signature", "--url", url]) == 1
    finally:
        process.stop()
    assert "401" in capsys.readouterr().out
