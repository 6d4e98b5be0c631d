"""Requests signed by the providers' OWN SDKs, not by our idea of their schemes: stripe,
slack_sdk, twilio, standardwebhooks and svix sign; the real targets answer. For every sender:
accepted (2xx), the same delivery again (the stored answer, `Idempotent-Replayed: true`), the
body changed after signing (401) and a timestamp outside the tolerance (401, where the scheme
signs one). The figures form a matrix, identical in process (Flask test client) and over a
real socket (`python -m runrun serve`), and docs/providers.md shows exactly that matrix.
"""

from __future__ import annotations

import base64
import datetime
import importlib.metadata
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import pytest
import standardwebhooks
import stripe
import svix.webhooks
from flask.testing import FlaskClient
from slack_sdk.signature import SignatureVerifier
from twilio.request_validator import HMAC_SHA256, SIGNATURE_SETTINGS_HEADER, RequestValidator

from shared import VerificationFailed
from shared.providers import SignedRequest, verify_twilio
from tests.support.providers_kit import clear_provider_env, make_app
from tests.support.runrun_scenarios.processes import Server, base_env, runrun

ROOT = Path(__file__).resolve().parents[3]
STALE = 10 * 60  # seconds in the past: outside every default tolerance (5 min)

SECRETS = {
    "STRIPE_WEBHOOK_SECRET": "whsec_sdk0stripe0endpoint0secret",
    "SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
    "TWILIO_AUTH_TOKEN": "sdk-twilio-auth-token-12345",
    "TWILIO_SHARED_KEY_SECRET": "sdk-twilio-shared-key-secret-67890",
    "STANDARD_WEBHOOK_SECRET": "whsec_"
    + base64.b64encode(b"sdk-standard-webhooks-key-32byte").decode(),
}
SHARED_KEY_ID = "webhooks_sharedkey_01jsdk0000000000000000000"

Headers = dict[str, str]


@dataclass(frozen=True)
class Sender:
    """One provider as its SDK signs: `sign(body, url, timestamp)` gives the headers."""

    label: str  # the matrix row
    target: str
    sign: Callable[[bytes, str, int], Headers]
    body: Callable[[str], bytes]  # delivery key -> body; every body holds b"original"
    content_type: str = "application/json"
    timestamped: bool = True


def _version(package: str) -> str:
    return importlib.metadata.version(package)


def _stripe(body: bytes, url: str, stamp: int) -> Headers:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), SECRETS["STRIPE_WEBHOOK_SECRET"], timestamp=stamp
    )
    return {"Stripe-Signature": header}


def _slack(body: bytes, url: str, stamp: int) -> Headers:
    verifier = SignatureVerifier(SECRETS["SLACK_SIGNING_SECRET"])
    signature = verifier.generate_signature(timestamp=str(stamp), body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": signature}


def _twilio_params(body: bytes) -> dict[str, str]:
    return dict(parse_qsl(body.decode(), keep_blank_values=True))


def _twilio(body: bytes, url: str, stamp: int) -> Headers:
    validator = RequestValidator(SECRETS["TWILIO_AUTH_TOKEN"])
    return {"X-Twilio-Signature": validator.compute_signature(url, _twilio_params(body))}


def _twilio_shared_key(body: bytes, url: str, stamp: int) -> Headers:
    validator = RequestValidator(SECRETS["TWILIO_SHARED_KEY_SECRET"])
    signature = validator.compute_signature(url, _twilio_params(body), HMAC_SHA256)
    settings = f"key={SHARED_KEY_ID},algorithm={HMAC_SHA256}"
    return {"X-Twilio-Signature": signature, SIGNATURE_SETTINGS_HEADER: settings}


def _message_id(body: bytes) -> str:
    # The delivery id rides in the body here so that `body(key)` alone makes a delivery.
    return "msg_" + body.split(b'"key": "')[1].split(b'"')[0].decode()


def _when(stamp: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(stamp, tz=datetime.UTC)


def _standard(body: bytes, url: str, stamp: int) -> Headers:
    hook = standardwebhooks.Webhook(SECRETS["STANDARD_WEBHOOK_SECRET"])
    msg_id = _message_id(body)
    signature = hook.sign(msg_id, _when(stamp), body.decode())
    return {"webhook-id": msg_id, "webhook-timestamp": str(stamp), "webhook-signature": signature}


def _svix(body: bytes, url: str, stamp: int) -> Headers:
    hook = svix.webhooks.Webhook(SECRETS["STANDARD_WEBHOOK_SECRET"])
    msg_id = _message_id(body)
    signature = hook.sign(msg_id, _when(stamp), body.decode())
    return {"svix-id": msg_id, "svix-timestamp": str(stamp), "svix-signature": signature}


def _json(payload: str) -> Callable[[str], bytes]:
    return lambda key: payload.replace("KEY", key).encode()


def _twilio_form(key: str) -> bytes:
    fields = {"MessageSid": f"SM{key}", "MessageStatus": "received", "Body": "original"}
    return urlencode({**fields, "From": "+15551234567", "To": "+15557654321"}).encode()


SENDERS = (
    Sender(
        "Stripe · stripe `WebhookSignature.generate_signature_header`",
        "stripe_webhook",
        _stripe,
        _json('{"id": "evt_KEY", "type": "invoice.paid", "note": "original"}'),
    ),
    Sender(
        "Slack · slack_sdk `SignatureVerifier.generate_signature`",
        "slack_events",
        _slack,
        _json('{"type": "event_callback", "event_id": "EvKEY", "event": {"text": "original"}}'),
    ),
    Sender(
        "Twilio auth token · twilio `RequestValidator.compute_signature`",
        "twilio_webhook",
        _twilio,
        _twilio_form,
        content_type="application/x-www-form-urlencoded",
        timestamped=False,
    ),
    Sender(
        "Twilio SharedKey (HMAC_SHA256) · twilio `RequestValidator.compute_signature`",
        "twilio_webhook",
        _twilio_shared_key,
        _twilio_form,
        content_type="application/x-www-form-urlencoded",
        timestamped=False,
    ),
    Sender(
        "Standard Webhooks · standardwebhooks `Webhook.sign`",
        "standard_webhook",
        _standard,
        _json('{"type": "invoice.paid", "key": "KEY", "note": "original"}'),
    ),
    Sender(
        "Svix (`svix-*` headers) · svix `Webhook.sign`",
        "standard_webhook",
        _svix,
        _json('{"type": "invoice.paid", "key": "KEY", "note": "original"}'),
    ),
)
PACKAGES = ("stripe", "slack-sdk", "twilio", "standardwebhooks", "svix")
COLUMNS = ("accepted", "replayed", "tampered body", "stale timestamp")


# --- transports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    replayed: bool
    body: bytes


class Transport:
    """Where requests go, and the public URL a sender signs for a target."""

    def url(self, target: str) -> str:
        raise NotImplementedError

    def post(self, target: str, headers: Headers, body: bytes) -> Answer:
        raise NotImplementedError


class InProcess(Transport):
    """Each target as plain functions-framework serves it, through Flask's test client."""

    def __init__(self) -> None:
        self.clients: dict[str, FlaskClient] = {}

    def url(self, target: str) -> str:
        return "http://localhost/"

    def post(self, target: str, headers: Headers, body: bytes) -> Answer:
        if target not in self.clients:
            self.clients[target] = make_app(target).test_client()
        response = self.clients[target].post("/", data=body, headers=headers)
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        return Answer(response.status_code, replayed, response.get_data())


class OverSocket(Transport):
    """Every target in one `python -m runrun serve` process, over TCP (Host: localhost)."""

    def __init__(self, server: Server) -> None:
        self.server = server

    def url(self, target: str) -> str:
        return f"http://localhost/{target}"

    def post(self, target: str, headers: Headers, body: bytes) -> Answer:
        answer = self.server.request("POST", f"/{target}", tuple(headers.items()), body)
        replayed = dict(answer.headers).get("idempotent-replayed") == "true"  # names lowered
        return Answer(answer.status, replayed, answer.body)


# --- the matrix --------------------------------------------------------------------------------


def _request(sender: Sender, transport: Transport, key: str, stamp: int) -> tuple[Headers, bytes]:
    body = sender.body(key)
    headers = {"Content-Type": sender.content_type}
    headers.update(sender.sign(body, transport.url(sender.target), stamp))
    return headers, body


def row(sender: Sender, transport: Transport, key: str) -> tuple[str, ...]:
    """The four cells of one sender, each checked before it is written down."""
    now = int(time.time())
    headers, body = _request(sender, transport, key, now)
    first = transport.post(sender.target, headers, body)
    assert first.status == 200 and not first.replayed, first
    again = transport.post(sender.target, headers, body)
    assert (again.status, again.replayed, again.body) == (200, True, first.body), again

    headers, body = _request(sender, transport, key + "t", now)
    tampered = transport.post(sender.target, headers, body.replace(b"original", b"0riginal"))
    assert tampered.status == 401, tampered

    stale_cell = "n/a (no signed timestamp)"
    if sender.timestamped:
        headers, body = _request(sender, transport, key + "s", now - STALE)
        stale = transport.post(sender.target, headers, body)
        assert stale.status == 401, stale
        stale_cell = "401"
    return ("200", "200 + `Idempotent-Replayed: true`", "401", stale_cell)


def matrix(transport: Transport, run: str) -> str:
    lines = [
        "| sender, signed by its SDK | " + " | ".join(COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for number, sender in enumerate(SENDERS):
        cells = row(sender, transport, f"{run}{number}")
        lines.append("| " + " | ".join((sender.label, *cells)) + " |")
    return "\n".join(lines)


@pytest.fixture
def sdk_env(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_provider_env(monkeypatch)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("sdks")
    process = runrun("sdks", ROOT / "main.py", base_env(folder / "state", **SECRETS), folder)
    try:
        yield process.wait_ready("/_runrun/health")
    finally:
        process.stop()


@pytest.mark.usefixtures("sdk_env")
def test_matrix_in_process_and_over_a_socket_is_the_readme_matrix(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    in_process = matrix(InProcess(), "p")
    over_socket = matrix(OverSocket(server), "s")
    versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    with capsys.disabled():
        print(f"\nSDK matrix ({versions}):\n{over_socket}")
    assert in_process == over_socket
    readme = (ROOT / "docs" / "providers.md").read_text()
    assert over_socket in readme, (
        "docs/providers.md's SDK matrix differs from what the SDKs got:\n" + (over_socket)
    )


# --- the gaps the SDKs showed --------------------------------------------------------------------


@pytest.mark.usefixtures("sdk_env")
def test_svix_id_is_the_delivery_id_and_families_are_never_mixed() -> None:
    transport = InProcess()
    sender = SENDERS[-1]
    headers, body = _request(sender, transport, "family", int(time.time()))
    answer = transport.post(sender.target, headers, body)
    assert answer.status == 200 and b'"delivery_id": "msg_family"' in answer.body
    # A svix-* header present makes svix-* THE family: a webhook-* signature beside it does
    # not stand in for a missing svix-signature.
    standard = _standard(body, "", int(time.time()))
    mixed = {"Content-Type": "application/json", "svix-id": "msg_family", **standard}
    mixed.pop("webhook-id")
    assert transport.post(sender.target, mixed, body).status == 401


# Pairs of (URL Twilio signed, URL the request arrived at).
URL_PAIRS = [
    ("https://example.com/sms", "https://example.com/sms"),
    ("https://example.com/sms", "https://example.com:443/sms"),
    ("https://example.com:443/sms", "https://example.com/sms"),
    ("https://example.com/sms", "https://example.com:8443/sms"),
    ("https://example.com:8443/sms", "https://example.com:8443/sms"),
    ("http://example.com:80/sms?x=1", "http://example.com/sms?x=1"),
    ("http://example.com/sms", "http://example.com:80/sms"),
    ("https://Example.com:8443/sms", "https://Example.com/sms"),
    ("https://example.com:8443/sms", "https://example.com:9443/sms"),
    ("https://example.com/sms", "http://example.com/sms"),
    ("https://example.com/sms", "https://example.org/sms"),
    ("https://example.com:443/sms", "https://example.com:444/sms"),
    ("https://example.com/sms", "https://example.com/sms/"),
]


@pytest.mark.parametrize("shared_key", [False, True], ids=["auth-token", "shared-key"])
@pytest.mark.parametrize(("signed", "arrived"), URL_PAIRS)
def test_twilio_ports_as_twilios_own_validator(signed: str, arrived: str, shared_key: bool) -> None:
    params = {"MessageSid": "SM1", "Body": "hi"}
    secret = SECRETS["TWILIO_SHARED_KEY_SECRET" if shared_key else "TWILIO_AUTH_TOKEN"]
    algorithm = HMAC_SHA256 if shared_key else None
    validator = RequestValidator(secret)
    signature = validator.compute_signature(signed, params, algorithm)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
    if shared_key:
        headers[SIGNATURE_SETTINGS_HEADER.lower()] = f"key={SHARED_KEY_ID},algorithm=HMAC_SHA256"
    request = SignedRequest(b"", headers, url=arrived, form=list(params.items()))
    try:
        verify_twilio(
            request,
            [b"wrong"] if shared_key else [secret.encode()],
            0,
            shared_keys=[secret.encode()] if shared_key else [b"wrong"],
        )
        ours = True
    except VerificationFailed:
        ours = False
    assert ours == validator.validate(arrived, params, signature, algorithm)


@pytest.mark.usefixtures("sdk_env")
def test_twilio_each_scheme_takes_its_own_secret_only(monkeypatch: pytest.MonkeyPatch) -> None:
    transport = InProcess()
    url = transport.url("twilio_webhook")
    body = _twilio_form("own")
    params = _twilio_params(body)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    settings = {SIGNATURE_SETTINGS_HEADER: f"key={SHARED_KEY_ID},algorithm=HMAC_SHA256"}
    # The shared key with SHA-1 and no settings header, the auth token with the header: 401.
    by_key = RequestValidator(SECRETS["TWILIO_SHARED_KEY_SECRET"]).compute_signature(url, params)
    assert (
        transport.post("twilio_webhook", {**form, "X-Twilio-Signature": by_key}, body).status == 401
    )
    by_token = RequestValidator(SECRETS["TWILIO_AUTH_TOKEN"]).compute_signature(
        url, params, HMAC_SHA256
    )
    headers = {**form, **settings, "X-Twilio-Signature": by_token}
    assert transport.post("twilio_webhook", headers, body).status == 401
    # A SharedKey-signed request while only the auth token is set: a configuration error
    # naming the variable (Twilio's own middleware answers 500 there too).
    monkeypatch.delenv("TWILIO_SHARED_KEY_SECRET")
    answer = transport.post("twilio_webhook", {**form, **_twilio_shared_key(body, url, 0)}, body)
    assert answer.status == 500 and b"TWILIO_SHARED_KEY_SECRET" in answer.body
    # The shared key alone is enough for SharedKey-signed requests.
    monkeypatch.setenv("TWILIO_SHARED_KEY_SECRET", SECRETS["TWILIO_SHARED_KEY_SECRET"])
    monkeypatch.delenv("TWILIO_AUTH_TOKEN")
    answer = transport.post("twilio_webhook", {**form, **_twilio_shared_key(body, url, 0)}, body)
    assert answer.status == 200, answer
    answer = transport.post("twilio_webhook", {**form, **_twilio(body, url, 0)}, body)
    assert answer.status == 500 and b"TWILIO_AUTH_TOKEN" in answer.body


def test_twilio_port_variants_keep_ipv6_brackets_and_the_host_as_sent() -> None:
    # Twilio's validator cuts the netloc at its first ":", which breaks IPv6 literals; ours
    # removes the port only.
    from shared.providers.twilio._verify import _url_variants

    assert _url_variants("http://[::1]:8080/sms") == ["http://[::1]:8080/sms", "http://[::1]/sms"]
    assert _url_variants("https://u@Example.com/sms") == [
        "https://u@Example.com/sms",
        "https://u@Example.com:443/sms",
    ]
