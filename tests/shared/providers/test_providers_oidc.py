"""Google-signed OIDC tokens on Pub/Sub push and Cloud Tasks requests, verified with
google-auth against certificates served by a local HTTP server (no network)."""

from __future__ import annotations

import base64
import datetime
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import flask
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

from shared import Provider, receive, text_of
from shared.providers import verify_shared_secret
from tests.support.providers_kit import clear_provider_env, make_app

AUDIENCE = "https://runrun-abc.a.run.app/process_delivery"
ACCOUNT = "pusher@runrun-test.iam.gserviceaccount.com"


def _key_and_cert(name: str) -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem, cert.public_bytes(serialization.Encoding.PEM)


GOOGLE_KEY, GOOGLE_CERT = _key_and_cert("google")
OTHER_KEY, _ = _key_and_cert("impostor")


class Certs:
    status = 200
    fetches = 0
    cache_control = ""


@pytest.fixture(scope="module")
def certs_server() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = json.dumps({"kid-1": GOOGLE_CERT.decode()}).encode()
            Certs.fetches += 1
            self.send_response(Certs.status)
            self.send_header("Content-Type", "application/json")
            if Certs.cache_control:
                self.send_header("Cache-Control", Certs.cache_control)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/oauth2/v1/certs"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def push_env(monkeypatch: pytest.MonkeyPatch, certs_server: str) -> None:
    clear_provider_env(monkeypatch)
    Certs.status = 200
    Certs.cache_control = ""
    monkeypatch.setenv("PUSH_AUDIENCE", f"https://old.example/push, {AUDIENCE}")
    monkeypatch.setenv("PUSH_SERVICE_ACCOUNT", ACCOUNT)
    monkeypatch.setenv("RUNRUN_OIDC_CERTS_URL", certs_server)


def token(key: bytes = GOOGLE_KEY, kid: str = "kid-1", **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": "https://accounts.google.com",
        "aud": AUDIENCE,
        "sub": "1234567890",
        "email": ACCOUNT,
        "email_verified": True,
        "iat": now,
        "exp": now + 3600,
        **claims,
    }
    signer = crypt.RSASigner.from_string(key, key_id=kid)
    return jwt.encode(signer, payload).decode()


def push_envelope(delivery_id: str) -> dict[str, Any]:
    """A Pub/Sub push request body carrying one delivery, as Pub/Sub sends it."""
    data = base64.b64encode(json.dumps({"id": delivery_id}).encode()).decode()
    attributes = {
        "source": "generic_webhook",
        "delivery_id": delivery_id,
        "event_type": "thing.happened",
        "content_type": "application/json",
        "received_at": "2026-01-01T00:00:00.000Z",
    }
    message = {"data": data, "attributes": attributes, "messageId": "9", "publishTime": ""}
    message["publishTime"] = "2026-01-01T00:00:00.000Z"
    return {"message": message, "subscription": "projects/runrun-test/subscriptions/push"}


def push(authorization: str | None, delivery_id: str = "d-1") -> flask.Response:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    app = make_app("process_delivery")
    response: flask.Response = app.test_client().post(
        "/", data=json.dumps(push_envelope(delivery_id)), headers=headers
    )
    return response


def test_valid_token_is_processed() -> None:
    response = push(f"Bearer {token()}")
    assert response.status_code == 200, response.get_data()


def test_without_push_audience_the_check_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUSH_AUDIENCE")
    assert push(None).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer " + "A" * 10_000,
        "Bearer ééé",
        "Bearer eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.",  # alg=none
    ],
)
def test_malformed_authorization_is_401(authorization: str | None) -> None:
    response = push(authorization)
    assert response.status_code == 401, response.get_data()


@pytest.mark.parametrize(
    "claims",
    [
        {"aud": "https://someone-else.example/"},
        {"email": "attacker@evil.iam.gserviceaccount.com"},
        {"email_verified": False},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
    ],
)
def test_wrong_claims_are_401(claims: dict[str, Any]) -> None:
    response = push(f"Bearer {token(**claims)}")
    assert response.status_code == 401, response.get_data()
    assert b"OIDC" in response.get_data()


def test_token_signed_by_another_key_is_401() -> None:
    assert push(f"Bearer {token(key=OTHER_KEY)}").status_code == 401
    assert push(f"Bearer {token(kid='unknown')}").status_code == 401


def test_missing_service_account_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUSH_SERVICE_ACCOUNT")
    assert push(f"Bearer {token()}").status_code == 500


def test_certificates_are_fetched_once_per_max_age() -> None:
    Certs.cache_control = "public, max-age=3600"
    before = Certs.fetches
    for _ in range(3):
        assert push(f"Bearer {token()}").status_code == 200
    assert Certs.fetches - before == 1


def test_unreachable_certificates_are_503_so_pubsub_retries() -> None:
    Certs.status = 500
    response = push(f"Bearer {token()}")
    assert response.status_code == 503
    assert response.headers["Retry-After"]


TASKS = Provider(
    target="tasks_test",
    secret_env="TASKS_TEST_SECRET",
    verify=verify_shared_secret,
    delivery_id=lambda inbound: inbound.headers.get("x-cloudtasks-taskname") or None,
    delivery_id_source="header X-CloudTasks-TaskName",
    event_type=lambda inbound: text_of(inbound.field("type")) or "",
    internal=True,
)


def test_internal_target_requires_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKS_TEST_SECRET", "s")
    app = flask.Flask(__name__)
    app.add_url_rule("/", view_func=lambda: receive(flask.request, TASKS), methods=["POST"])
    headers = {"Content-Type": "application/json", "Secret": "s", "X-CloudTasks-TaskName": "t1"}
    body = json.dumps({"type": "job"})
    assert app.test_client().post("/", data=body, headers=headers).status_code == 401
    headers["Authorization"] = f"Bearer {token()}"
    response = app.test_client().post("/", data=body, headers=headers)
    assert response.status_code == 200, response.get_data()
