"""The nine newer providers over HTTP on the embedded backends: documented signatures
accepted, every malformed signature header answered 401 (never 500), handshakes, and the
delivery id each request is claimed under."""

from __future__ import annotations

import base64
import json
import os
import time
from urllib.parse import urlencode

import flask
import pytest
from flask.testing import FlaskClient

from shared import reload_settings
from tests.support.providers_kit import (
    DROPBOX_SECRET,
    GRAPH_STATE,
    META_VERIFY,
    PROVIDER_ENVS,
    TARGETS,
    X_SECRET,
    ZOOM_SECRET,
    Request,
    b64,
    dumps,
    graph_body,
    mac,
    make_app,
    meta_headers,
    provider_env,  # noqa: F401 - fixture
    standard_headers,
    twilio_signature,
    valid_request,
    whatsapp_body,
    x_headers,
    zoom_headers,
)

pytestmark = pytest.mark.usefixtures("provider_env")

_apps: dict[str, flask.Flask] = {}


def client(target: str) -> FlaskClient:
    if target not in _apps:
        _apps[target] = make_app(target)
    return _apps[target].test_client()


def post(req: Request, headers: object = None) -> tuple[int, bytes, dict[str, str]]:
    response = client(req.target).post(
        "/" + req.query,
        data=req.body,
        headers=headers if headers is not None else req.all_headers(),  # type: ignore[arg-type]
    )
    return response.status_code, response.get_data(), dict(response.headers)


# --- Vectors: what each provider documents is accepted; one wrong byte is not ------------------


@pytest.mark.parametrize("target", TARGETS)
def test_documented_signature_is_accepted(target: str) -> None:
    status, body, _ = post(valid_request(target))
    assert status in (200, 202), body


SECRET_ENVS = {
    "shopify_webhook": "SHOPIFY_WEBHOOK_SECRET",
    "zoom_webhook": "ZOOM_WEBHOOK_SECRET_TOKEN",
    "meta_webhook": "META_APP_SECRET",
    "x_webhook": "X_CONSUMER_SECRET",
    "dropbox_webhook": "DROPBOX_APP_SECRET",
    "twilio_webhook": "TWILIO_AUTH_TOKEN",
    "standard_webhook": "STANDARD_WEBHOOK_SECRET",
}
SIGNED = sorted(SECRET_ENVS)


@pytest.mark.parametrize("target", SIGNED)
def test_signature_with_another_secret_is_401(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    req = valid_request(target)
    monkeypatch.setenv(SECRET_ENVS[target], "whsec_" + b64(b"some-other-secret"))
    monkeypatch.delenv("STANDARD_WEBHOOK_PUBLIC_KEY")
    status, body, _ = post(req)
    assert status == 401, body


@pytest.mark.parametrize("target", SIGNED)
def test_body_changed_after_signing_is_401(target: str) -> None:
    req = valid_request(target)
    req.body = req.body.replace(b"1", b"2", 1)
    assert post(req)[0] == 401


@pytest.mark.parametrize("target", SIGNED)
def test_rotation_accepts_old_and_new_secret(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    env = SECRET_ENVS[target]
    newer = "whsec_" + b64(b"new-secret-0001") if target == "standard_webhook" else "newer"
    monkeypatch.setenv(env, f"{newer}, {os.environ[env]}")
    assert post(valid_request(target))[0] == 200


def test_standard_webhooks_reference_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vector published with the Standard Webhooks reference libraries."""
    from shared.providers import SignedRequest, verify_standard

    body = b'{"test": 2432232314}'
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    secret = [b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
    verify_standard(SignedRequest(body=body, headers=headers, now=1614265330), secret, 300)


def test_standard_webhooks_ed25519_and_several_signatures() -> None:
    req = valid_request("standard_webhook", "msg_ed")
    signed = standard_headers(req.body, msg_id="msg_ed", ed25519=True)
    stale = "v1," + b64(mac(b"retired-key-000000000000000000000", b"x"))
    headers = {**req.all_headers(), **signed}
    headers["webhook-signature"] = f"{stale} v1a,!!! garbage {signed['webhook-signature']}"
    assert post(req, headers)[0] == 200


def test_standard_webhooks_public_key_alone_is_enough(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STANDARD_WEBHOOK_SECRET")
    req = valid_request("standard_webhook", "msg_pk")
    assert post(req)[0] == 401  # an HMAC signature, and no HMAC secret configured
    req.headers = standard_headers(req.body, msg_id="msg_pk", ed25519=True)
    assert post(req)[0] == 200


def test_twilio_json_body_signs_the_url_with_body_sha256() -> None:
    import hashlib

    body = dumps({"sid": "EV123", "type": "com.twilio.messaging.message.delivered"})
    query = "?bodySHA256=" + hashlib.sha256(body).hexdigest()
    url = "http://localhost/" + query
    req = Request("twilio_webhook", body, {"X-Twilio-Signature": twilio_signature(url, {})}, "", "")
    req.query = query
    assert post(req)[0] == 200
    req.query = "?bodySHA256=" + "0" * 64
    assert post(req)[0] == 401


def test_twilio_public_url_is_rebuilt_behind_cloud_run() -> None:
    """Cloud Run's front end terminates TLS: the app sees http://<internal>/, the signature
    covers https://<public host>/<path>?<raw query>."""
    params = {"CallSid": "CA42", "CallStatus": "completed", "From": "+1555", "Digits": "1234"}
    body = urlencode(params).encode()
    public = "https://hooks.example.run.app/?next=%2Fa%2Fb&x=1"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-Proto": "https",
        "Host": "hooks.example.run.app",
        "X-Twilio-Signature": twilio_signature(public, params),
    }
    response = client("twilio_webhook").post("/?next=%2Fa%2Fb&x=1", data=body, headers=headers)
    assert response.status_code == 200, response.get_data()
    assert response.mimetype == "text/xml"
    # Without the forwarded scheme the URL is http://...: not what was signed.
    headers.pop("X-Forwarded-Proto")
    response = client("twilio_webhook").post("/?next=%2Fa%2Fb&x=1", data=body, headers=headers)
    assert response.status_code == 401
    # The default port written out is the same URL to Twilio's libraries.
    headers["X-Forwarded-Proto"] = "https"
    headers["X-Twilio-Signature"] = twilio_signature(
        "https://hooks.example.run.app:443/?next=%2Fa%2Fb&x=1", params
    )
    response = client("twilio_webhook").post("/?next=%2Fa%2Fb&x=1", data=body, headers=headers)
    assert response.status_code == 200


def test_twilio_x_forwarded_host_wins_over_host() -> None:
    params = {"MessageSid": "SMfwd", "Body": "x"}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "public.example.com",
        "Host": "internal:8080",
        "X-Twilio-Signature": twilio_signature("https://public.example.com/sms", params),
    }
    response = client("twilio_webhook").post("/sms", data=urlencode(params), headers=headers)
    assert response.status_code == 200, response.get_data()


def test_zoom_stale_timestamp_is_401_and_tolerance_is_configurable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    req = valid_request("zoom_webhook")
    req.headers = zoom_headers(req.body, stamp=int(time.time()) - 600)
    assert post(req)[0] == 401
    monkeypatch.setenv("ZOOM_TIMESTAMP_TOLERANCE_SECONDS", "900")
    assert post(req)[0] == 200


def test_standard_tolerance_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    req = valid_request("standard_webhook", "msg_old")
    req.headers = standard_headers(req.body, msg_id="msg_old", stamp=int(time.time()) + 400)
    assert post(req)[0] == 401
    monkeypatch.setenv("STANDARD_WEBHOOK_TOLERANCE_SECONDS", "600")
    reload_settings()
    assert post(req)[0] == 200


def test_graph_client_state_checked_on_every_notification() -> None:
    payload = graph_body("n1", "n2")
    payload["value"][1]["clientState"] = "not-ours"
    req = Request("graph_webhook", dumps(payload), {}, "", "")
    assert post(req)[0] == 401
    del payload["value"][1]["clientState"]
    assert post(Request("graph_webhook", dumps(payload), {}, "", ""))[0] == 401


@pytest.mark.parametrize(
    "body", [b"", b"garbage", b"[]", b'{"value": []}', b'{"value": [1]}', b'{"value": {}}']
)
def test_graph_malformed_batch_is_401(body: bytes) -> None:
    assert post(Request("graph_webhook", body, {}, "", ""))[0] == 401


# --- The malformed-header table ----------------------------------------------------------------

MALFORMED = ["empty", "garbage", "wrong prefix", "bad encoding", "duplicated", "huge", "non-ASCII"]


def malformed(req: Request, case: str) -> list[tuple[str, str]]:
    valid = req.headers[req.signature_header]
    value = {
        "empty": "",
        "garbage": "garbage",
        "wrong prefix": req.wrong_prefix,
        "bad encoding": valid[:-4] + "!!!!",
        "huge": valid + "A" * 100_000,
        "non-ASCII": valid[:-2] + "é=",
    }.get(case)
    others = [(k, v) for k, v in req.all_headers().items() if k != req.signature_header]
    if case == "duplicated":
        return [*others, (req.signature_header, valid), (req.signature_header, "garbage")]
    assert value is not None
    return [*others, (req.signature_header, value)]


@pytest.mark.parametrize("case", MALFORMED)
@pytest.mark.parametrize("target", SIGNED)
def test_malformed_signature_header_is_401(target: str, case: str) -> None:
    req = valid_request(target)
    status, body, _ = post(req, malformed(req, case))
    assert status == 401, body
    assert b"signature" in body.lower() or b"header" in body.lower() or b"match" in body


@pytest.mark.parametrize("target", SIGNED)
def test_missing_signature_header_is_401(target: str) -> None:
    req = valid_request(target)
    headers = {k: v for k, v in req.all_headers().items() if k != req.signature_header}
    assert post(req, headers)[0] == 401


@pytest.mark.parametrize(
    "name,value",
    [
        ("x-zm-request-timestamp", ""),
        ("x-zm-request-timestamp", "yesterday"),
        ("x-zm-request-timestamp", "1" * 40),
        ("x-zm-request-timestamp", "-5"),
    ],
)
def test_zoom_malformed_timestamp_is_401(name: str, value: str) -> None:
    req = valid_request("zoom_webhook")
    req.headers[name] = value
    assert post(req)[0] == 401


@pytest.mark.parametrize(
    "name,value",
    [
        ("webhook-timestamp", "garbage"),
        ("webhook-timestamp", ""),
        ("webhook-id", ""),
        ("webhook-id", "ïd"),
        ("webhook-signature", "v1,abc,def"),
        ("webhook-signature", "v1,!!!notbase64"),
        ("webhook-signature", "v1,"),
        ("webhook-signature", ","),
        ("webhook-signature", "v1a,AAAA"),
        ("webhook-signature", "    "),
    ],
)
def test_standard_malformed_headers_are_401(name: str, value: str) -> None:
    req = valid_request("standard_webhook")
    req.headers[name] = value
    assert post(req)[0] == 401


@pytest.mark.parametrize("value", ["not-base64!", "whpk_AAAA", "whsk_" + "A" * 86])
def test_standard_misconfigured_key_is_500_not_a_crash(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STANDARD_WEBHOOK_PUBLIC_KEY", value)
    status, body, _ = post(valid_request("standard_webhook"))
    assert status == 500 and b"key" in body  # a configuration error, answered as one


@pytest.mark.parametrize("target", TARGETS)
def test_unconfigured_target_is_500_naming_the_variable(
    target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in PROVIDER_ENVS:
        if name in os.environ:
            monkeypatch.delenv(name)
    status, body, _ = post(valid_request(target))
    assert status == 500 and b"is not set" in body


# --- Handshakes ----------------------------------------------------------------------------------


def test_zoom_url_validation() -> None:
    body = dumps(
        {"event": "endpoint.url_validation", "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    )
    response = client("zoom_webhook").post(
        "/", data=body, headers={"Content-Type": "application/json", **zoom_headers(body)}
    )
    assert response.status_code == 200
    expected = mac(ZOOM_SECRET, b"qgg8vlvZRS6UYooatFL8Aw").hex()
    assert response.get_json() == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": expected,
    }
    # The validation request is signed like any other: unsigned, it is refused.
    response = client("zoom_webhook").post(
        "/", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 401


def test_meta_subscribe_handshake() -> None:
    query = {
        "hub.mode": "subscribe",
        "hub.verify_token": META_VERIFY,
        "hub.challenge": "1158201444",
    }
    response = client("meta_webhook").get("/", query_string=query)
    assert response.status_code == 200
    assert response.get_data() == b"1158201444"
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "query",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": META_VERIFY, "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": META_VERIFY + "x", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": "ü", "hub.challenge": "1"},
    ],
)
def test_meta_subscribe_with_wrong_token_is_403(query: dict[str, str]) -> None:
    response = client("meta_webhook").get("/", query_string=query)
    assert response.status_code == 403


def test_get_without_a_handshake_is_400_and_allow_lists_get() -> None:
    assert client("meta_webhook").get("/").status_code == 400
    response = client("meta_webhook").put("/", data=b"{}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, POST"
    assert client("shopify_webhook").get("/").headers["Allow"] == "POST"


def test_x_crc_handshake() -> None:
    response = client("x_webhook").get("/", query_string={"crc_token": "challenge-123"})
    assert response.status_code == 200
    expected = "sha256=" + base64.b64encode(mac(X_SECRET, b"challenge-123")).decode()
    assert response.get_json() == {"response_token": expected}
    assert client("x_webhook").get("/", query_string={"crc_token": ""}).status_code == 400


def test_x_crc_without_secret_is_500(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("X_CONSUMER_SECRET")
    assert client("x_webhook").get("/", query_string={"crc_token": "t"}).status_code == 500


def test_dropbox_challenge_echo() -> None:
    response = client("dropbox_webhook").get("/", query_string={"challenge": "<b>abc</b>"})
    assert response.status_code == 200
    assert response.get_data() == b"<b>abc</b>"
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_graph_validation_token_echo() -> None:
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    response = client("graph_webhook").post(
        "/", query_string={"validationToken": token}, headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True) == token
    assert response.mimetype == "text/plain"


# --- Delivery ids ---------------------------------------------------------------------------------


def accepted(req: Request) -> dict[str, object]:
    status, body, _ = post(req)
    assert status in (200, 202), body
    return dict(json.loads(body))


def test_shopify_key_is_the_webhook_id_header() -> None:
    assert accepted(valid_request("shopify_webhook", "b54557e4-bdd9"))["delivery_id"] == (
        "b54557e4-bdd9"
    )
    req = valid_request("shopify_webhook")
    del req.headers["X-Shopify-Webhook-Id"]
    assert post(req)[0] == 400


def test_standard_key_is_the_webhook_id_header() -> None:
    assert accepted(valid_request("standard_webhook", "msg_abc"))["delivery_id"] == "msg_abc"


def test_zoom_key_is_event_timestamp_and_payload() -> None:
    first = accepted(valid_request("zoom_webhook", "m1"))["delivery_id"]
    second = accepted(valid_request("zoom_webhook", "m2"))["delivery_id"]
    assert str(first).startswith("meeting.started:1700000000000:")
    assert first != second  # same event, same millisecond, different meetings


def test_meta_keys_are_message_ids_one_delivery_per_update() -> None:
    body = dumps(whatsapp_body("wamid.A", "wamid.B"))
    req = Request("meta_webhook", body, meta_headers(body), "", "")
    assert accepted(req)["delivery_id"] == "messages:wamid.A|wamid.B"  # one update, two ids
    messenger = {
        "object": "page",
        "entry": [
            {
                "id": "PAGE",
                "time": 1,
                "messaging": [
                    {"sender": {"id": "1"}, "message": {"mid": "m_1", "text": "a"}},
                    {"sender": {"id": "2"}, "message": {"mid": "m_2", "text": "b"}},
                ],
            },
            {"id": "PAGE", "time": 2, "messaging": [{"read": {"watermark": 5}}]},
        ],
    }
    body = dumps(messenger)
    ids = accepted(Request("meta_webhook", body, meta_headers(body), "", ""))["delivery_ids"]
    assert isinstance(ids, list) and ids[:2] == ["messaging:m_1", "messaging:m_2"]
    assert str(ids[2]).startswith("sha256:")
    # The same batch again: every update was handed off already.
    response = client("meta_webhook").post(
        "/", data=body, headers={"Content-Type": "application/json", **meta_headers(body)}
    )
    assert response.status_code == 200


def test_meta_status_updates_of_one_message_are_distinct() -> None:
    def status(state: str) -> bytes:
        value = {"statuses": [{"id": "wamid.S", "status": state}]}
        entry = {"id": "W", "changes": [{"field": "messages", "value": value}]}
        return dumps({"object": "whatsapp_business_account", "entry": [entry]})

    keys = [
        accepted(Request("meta_webhook", b, meta_headers(b), "", ""))["delivery_id"]
        for b in (status("sent"), status("delivered"))
    ]
    assert keys == ["messages:wamid.S:sent", "messages:wamid.S:delivered"]


def test_x_key_is_user_kind_and_event_ids() -> None:
    assert accepted(valid_request("x_webhook", "1717"))["delivery_id"] == (
        "2244994945:tweet_create_events:1717"
    )
    body = dumps({"for_user_id": "1", "follow_events": [{"type": "follow"}]})
    key = accepted(Request("x_webhook", body, x_headers(body), "", ""))["delivery_id"]
    assert str(key).startswith("1:follow_events:sha256:")


def test_graph_keys_are_notification_ids_and_answer_is_202() -> None:
    status, body, _ = post(Request("graph_webhook", dumps(graph_body("n-1", "n-2")), {}, "", ""))
    assert status == 202
    assert json.loads(body)["delivery_ids"] == ["n-1", "n-2"]
    assert GRAPH_STATE.encode() not in body


def test_dropbox_identical_notifications_are_separate_deliveries() -> None:
    req = valid_request("dropbox_webhook")
    first = accepted(req)["delivery_id"]
    second = accepted(req)["delivery_id"]
    assert first != second
    assert DROPBOX_SECRET  # the signature used the configured app secret


def test_twilio_key_is_sid_and_status_or_idempotency_token() -> None:
    req = valid_request("twilio_webhook", "abc")
    status, body, headers = post(req)
    assert status == 200 and b"<Response>" in body
    assert headers["Content-Type"].startswith("text/xml")
    req.headers["I-Twilio-Idempotency-Token"] = "tok-1"
    status, body, _ = post(req)
    assert status == 200
    # A replay of the first attempt answers the same TwiML.
    req.headers.pop("I-Twilio-Idempotency-Token")
    status, replay, headers = post(req)
    assert (status, replay, headers.get("Idempotent-Replayed")) == (200, body, "true")


def test_main_reexports_every_provider_target_and_its_env_vars() -> None:
    import main

    assert set(TARGETS) <= set(main.__all__)
    from shared.providers import META, STANDARD, TWILIO

    assert META.env_names == ("META_APP_SECRET", "META_VERIFY_TOKEN")
    assert TWILIO.env_names == ("TWILIO_AUTH_TOKEN", "TWILIO_SHARED_KEY_SECRET")
    assert STANDARD.env_names == ("STANDARD_WEBHOOK_SECRET", "STANDARD_WEBHOOK_PUBLIC_KEY")
