"""Shared by the provider tests: each provider's requests signed exactly as its documentation
describes (plain hmac/hashlib/base64/ed25519 here, never the project's verifiers), and the
functions-framework apps. Holds no tests itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import flask
import functions_framework
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ROOT = Path(__file__).resolve().parents[2]

# Every env var the new providers read: cleared around each test of these modules.
PROVIDER_ENVS = (
    "SHOPIFY_WEBHOOK_SECRET",
    "ZOOM_WEBHOOK_SECRET_TOKEN",
    "ZOOM_TIMESTAMP_TOLERANCE_SECONDS",
    "META_APP_SECRET",
    "META_VERIFY_TOKEN",
    "X_CONSUMER_SECRET",
    "GRAPH_CLIENT_STATE",
    "DROPBOX_APP_SECRET",
    "TWILIO_AUTH_TOKEN",
    "TWILIO_SHARED_KEY_SECRET",
    "STANDARD_WEBHOOK_SECRET",
    "STANDARD_WEBHOOK_PUBLIC_KEY",
    "STANDARD_WEBHOOK_TOLERANCE_SECONDS",
    "PUSH_AUDIENCE",
    "PUSH_SERVICE_ACCOUNT",
)

SHOPIFY_SECRET = "shpss_0123456789abcdef"
ZOOM_SECRET = "zoom-secret-token-42"
META_SECRET = "meta-app-secret-7"
META_VERIFY = "meta-verify-token-8"
X_SECRET = "x-consumer-secret-9"
GRAPH_STATE = "graph-client-state-10"
DROPBOX_SECRET = "dropbox-app-secret-11"
TWILIO_TOKEN = "12345"
TWILIO_SHARED_KEY = "twilio-shared-key-secret-13"
STANDARD_KEY = b"standard-webhooks-hmac-key-32byt"
STANDARD_SECRET = "whsec_" + base64.b64encode(STANDARD_KEY).decode()
ED25519_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
STANDARD_PUBLIC = (
    "whpk_"
    + base64.b64encode(
        ED25519_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ).decode()
)

ENV = {
    "SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET,
    "ZOOM_WEBHOOK_SECRET_TOKEN": ZOOM_SECRET,
    "META_APP_SECRET": META_SECRET,
    "META_VERIFY_TOKEN": META_VERIFY,
    "X_CONSUMER_SECRET": X_SECRET,
    "GRAPH_CLIENT_STATE": GRAPH_STATE,
    "DROPBOX_APP_SECRET": DROPBOX_SECRET,
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "TWILIO_SHARED_KEY_SECRET": TWILIO_SHARED_KEY,
    "STANDARD_WEBHOOK_SECRET": STANDARD_SECRET,
    "STANDARD_WEBHOOK_PUBLIC_KEY": STANDARD_PUBLIC,
}

TARGETS = (
    "shopify_webhook",
    "zoom_webhook",
    "meta_webhook",
    "x_webhook",
    "graph_webhook",
    "dropbox_webhook",
    "twilio_webhook",
    "standard_webhook",
)


def clear_provider_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in PROVIDER_ENVS:
        if name in os.environ:
            monkeypatch.delenv(name)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def mac(secret: str | bytes, message: bytes, digest: Any = hashlib.sha256) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, digest).digest()


# --- Signatures, one per provider, from each provider's documentation ------------------------


def shopify_headers(body: bytes, secret: str = SHOPIFY_SECRET) -> dict[str, str]:
    return {"X-Shopify-Hmac-Sha256": b64(mac(secret, body))}


def zoom_headers(
    body: bytes, secret: str = ZOOM_SECRET, stamp: int | None = None
) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    signature = "v0=" + mac(secret, f"v0:{ts}:".encode() + body).hex()
    return {"x-zm-signature": signature, "x-zm-request-timestamp": ts}


def meta_headers(body: bytes, secret: str = META_SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + mac(secret, body).hex()}


def x_headers(body: bytes, secret: str = X_SECRET) -> dict[str, str]:
    return {"x-twitter-webhooks-signature": "sha256=" + b64(mac(secret, body))}


def dropbox_headers(body: bytes, secret: str = DROPBOX_SECRET) -> dict[str, str]:
    return {"X-Dropbox-Signature": mac(secret, body).hex()}


def twilio_signature(url: str, params: dict[str, str], token: str = TWILIO_TOKEN) -> str:
    """https://www.twilio.com/docs/usage/webhooks/webhooks-security: the full URL, then each
    POST parameter sorted by name, name and value concatenated; HMAC-SHA1, base64."""
    text = url + "".join(name + params[name] for name in sorted(params))
    return b64(mac(token, text.encode(), hashlib.sha1))


def standard_headers(
    body: bytes,
    msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    stamp: int | None = None,
    key: bytes = STANDARD_KEY,
    ed25519: bool = False,
) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    signed = f"{msg_id}.{ts}.".encode() + body
    if ed25519:
        signature = "v1a," + b64(ED25519_KEY.sign(signed))
    else:
        signature = "v1," + b64(mac(key, signed))
    return {"webhook-id": msg_id, "webhook-timestamp": ts, "webhook-signature": signature}


# --- Typical deliveries ----------------------------------------------------------------------


@dataclass
class Request:
    """A valid, signed request for a target, plus what is known about its signature."""

    target: str
    body: bytes
    headers: dict[str, str]
    signature_header: str
    wrong_prefix: str  # the signature value with a wrong scheme prefix
    content_type: str = "application/json"
    query: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, **self.headers}


def dumps(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def whatsapp_body(*wamids: str) -> dict[str, Any]:
    messages = [{"from": "15551234567", "id": w, "type": "text"} for w in wamids]
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [{"field": "messages", "value": {"messages": messages}}],
            }
        ],
    }


def graph_body(*ids: str, state: str = GRAPH_STATE) -> dict[str, Any]:
    return {
        "value": [
            {
                "id": i,
                "subscriptionId": "sub-1",
                "clientState": state,
                "changeType": "created",
                "resource": f"Users/u/Messages/{i}",
            }
            for i in ids
        ]
    }


def valid_request(target: str, key: str = "k1") -> Request:
    """A signed request for `target` whose delivery id derives from `key`."""
    if target == "shopify_webhook":
        body = dumps({"id": 820982911946154508, "email": "jon@example.com"})
        h = shopify_headers(body)
        h.update({"X-Shopify-Webhook-Id": key, "X-Shopify-Topic": "orders/create"})
        sig = h["X-Shopify-Hmac-Sha256"]
        return Request(target, body, h, "X-Shopify-Hmac-Sha256", "sha256=" + sig)
    if target == "zoom_webhook":
        payload = {"account_id": "acc", "object": {"id": key, "topic": "standup"}}
        body = dumps({"event": "meeting.started", "event_ts": 1700000000000, "payload": payload})
        h = zoom_headers(body)
        sig = h["x-zm-signature"]
        return Request(target, body, h, "x-zm-signature", "v1=" + sig[3:])
    if target == "meta_webhook":
        body = dumps(whatsapp_body(f"wamid.{key}"))
        h = meta_headers(body)
        sig = h["X-Hub-Signature-256"]
        return Request(target, body, h, "X-Hub-Signature-256", "sha1=" + sig[7:])
    if target == "x_webhook":
        body = dumps({"for_user_id": "2244994945", "tweet_create_events": [{"id_str": key}]})
        h = x_headers(body)
        sig = h["x-twitter-webhooks-signature"]
        return Request(target, body, h, "x-twitter-webhooks-signature", "sha1=" + sig[7:])
    if target == "graph_webhook":
        body = dumps(graph_body(key))
        # Graph has no signature header: the "signature" is clientState inside the body.
        return Request(target, body, {}, "", "")
    if target == "dropbox_webhook":
        body = dumps({"list_folder": {"accounts": ["dbid:AAH4f99"]}, "delta": {"users": [12]}})
        h = dropbox_headers(body)
        sig = h["X-Dropbox-Signature"]
        return Request(target, body, h, "X-Dropbox-Signature", "sha256=" + sig)
    if target == "twilio_webhook":
        params = {"MessageSid": f"SM{key}", "MessageStatus": "received", "Body": "hi"}
        params.update({"From": "+15551234567", "To": "+15557654321", "AccountSid": "AC1"})
        body = urlencode(params).encode()
        sig = twilio_signature("http://localhost/", params)
        return Request(
            target,
            body,
            {"X-Twilio-Signature": sig},
            "X-Twilio-Signature",
            "sha1=" + sig,
            content_type="application/x-www-form-urlencoded",
            extra={"params": params},
        )
    if target == "standard_webhook":
        body = dumps({"type": "invoice.paid", "data": {"id": key}})
        h = standard_headers(body, msg_id=key)
        sig = h["webhook-signature"]
        return Request(target, body, h, "webhook-signature", "v2," + sig[3:])
    raise AssertionError(target)


# --- Apps --------------------------------------------------------------------------------------


def make_app(target: str) -> flask.Flask:
    return functions_framework.create_app(target=target, source=str(ROOT / "main.py"))


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    clear_provider_env(monkeypatch)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    yield
