"""Secrets: no secret, signature or token value in any answer or log line, and every
comparison of a secret or a signature decided in constant time.

- a real `python -m runrun serve` process gets, for every target, good and bad signatures,
  the ownership handshakes, tokens in headers and garbage; its whole log and every answer
  are scanned for every secret, every signature sent and every token;
- by inspection of the code path: no `==`/`!=`/`in` on a secret, signature or token in the
  verifiers and handshakes, and `hmac.compare_digest` is what decides (forced to False, every
  good signature is refused; forced to True, every bad one of the right shape passes).
"""

from __future__ import annotations

import ast
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from runrun import build_app, discover
from shared import reload_settings
from tests.support import providers_kit as kit
from tests.support.providers_kit import clear_provider_env
from tests.support.reliability_fuzz import ENV, signature_headers
from tests.support.reliability_kit import find_secrets, report
from tests.support.runrun_scenarios.processes import Server, base_env, runrun

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "ya29.reliability-bearer-token-0f3c9e"  # an access token a caller might send
# Every HTTP target of main.py: a provider added later is scanned without being listed here.
# (process_delivery is HTTP too, but receives push envelopes: it has its own tests below.)
WEBHOOK_TARGETS = [
    t.name
    for t in discover(ROOT / "main.py").targets
    if t.signature_type == "http" and t.name != "process_delivery"
]
# Verified by a library, not by a comparison of ours: ed25519 (cryptography) and Google's
# OIDC tokens (google-auth).
LIBRARY_VERIFIED = ("standard_webhook v1a (ed25519)", "process_delivery OIDC token")


def _body(target: str, key: str) -> tuple[bytes, str]:
    """A realistic body for `target` and its content type."""
    if target in kit.TARGETS:
        req = kit.valid_request(target, key)
        return req.body, req.content_type
    payloads: dict[str, Any] = {
        "generic_webhook": {"id": key, "type": "order.created"},
        "github_webhook": {"ref": "refs/heads/feature", "repository": {"default_branch": "main"}},
        "stripe_webhook": {"id": f"evt_{key}", "type": "invoice.paid"},
        "slack_events": {"type": "event_callback", "event_id": f"Ev{key}", "event": {}},
        "dialogflow_webhook": {
            "detectIntentResponseId": key,
            "fulfillmentInfo": {"tag": "order-status"},
            "sessionInfo": {"parameters": {"order_id": "#1001"}},
        },
    }
    return json.dumps(payloads[target]).encode(), "application/json"


def signed(target: str, key: str, url: str) -> tuple[dict[str, str], bytes]:
    body, content_type = _body(target, key)
    headers = {"Content-Type": content_type, "X-GitHub-Event": "push", "X-GitHub-Delivery": key}
    headers.update(signature_headers(target, body, url, int(time.time())))
    if target == "shopify_webhook":
        headers["X-Shopify-Webhook-Id"] = key
    return headers, body


def _tamper(value: str) -> str:
    """The same signature with one character in its middle changed (same shape). Not the
    last one: in base64 that may only touch padding bits and decode to the same bytes."""
    chars = list(value)
    for i in range(len(chars) // 2, len(chars)):
        c = chars[i]
        if c.isalnum():
            if c in "0123456789abcdef":
                chars[i] = "0" if c != "0" else "1"
            else:
                chars[i] = "A" if c != "A" else "B"
            break
    return "".join(chars)


def tampered(target: str, headers: dict[str, str]) -> dict[str, str]:
    bad = dict(headers)
    for name in list(bad):
        if name.lower() in SIGNATURE_HEADERS:
            bad[name] = _tamper(bad[name])
    return bad


SIGNATURE_HEADERS = {
    "secret",
    "x-dialogflow-secret",
    "x-hub-signature-256",
    "stripe-signature",
    "x-slack-signature",
    "x-shopify-hmac-sha256",
    "x-zm-signature",
    "x-twitter-webhooks-signature",
    "x-dropbox-signature",
    "x-twilio-signature",
    "webhook-signature",
}


def sent_secrets(headers: dict[str, str]) -> list[str]:
    """Signature values as sent, and their bare digests."""
    found = []
    for name, value in headers.items():
        if name.lower() in SIGNATURE_HEADERS:
            found.append(value)
            for part in value.replace(",", " ").replace("=", " ").split():
                if len(part) >= 16:
                    found.append(part)
    return found


# --- a real server, everything it says scanned --------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("secrets")
    env = base_env(folder / "state", **ENV)
    process = runrun("secrets", ROOT / "main.py", env, folder, "--workers", "1")
    try:
        yield process.wait_ready("/_runrun/health")
    finally:
        process.stop()


def test_no_secret_signature_or_token_in_any_answer_or_log_line(
    server: Server, request: pytest.FixtureRequest
) -> None:
    needles = [*ENV.values(), TOKEN, kit.STANDARD_KEY.decode()]
    texts: list[str] = []
    statuses: dict[str, list[int]] = {}

    def send(label: str, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        answer = server.request(method, path, tuple(headers.items()), body)
        texts.append(answer.body.decode(errors="replace"))
        texts.append(json.dumps(answer.headers))
        statuses.setdefault(label, []).append(answer.status)

    for target in WEBHOOK_TARGETS:
        url = f"http://localhost/{target}"
        good, body = signed(target, f"sec-{target}", url)
        needles += sent_secrets(good)
        for label, headers in [
            ("good", good),
            ("replayed", good),
            ("bearer token", {**good, "Authorization": f"Bearer {TOKEN}"}),
        ]:
            send(label, "POST", f"/{target}", headers, body)
        if target == "graph_webhook":  # its secret is clientState, in the body
            send(
                "tampered",
                "POST",
                f"/{target}",
                good,
                body.replace(b"graph-client", b"graph-c1ient"),
            )
        else:
            send(f"tampered {target}", "POST", f"/{target}", tampered(target, good), body)
    # Handshakes that involve a secret or a token.
    verify = f"hub.mode=subscribe&hub.verify_token={kit.META_VERIFY}&hub.challenge=c1"
    send("meta verify", "GET", f"/meta_webhook?{verify}", {}, b"")
    wrong = "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=c2"
    send("meta wrong token", "GET", f"/meta_webhook?{wrong}", {}, b"")
    send("x crc", "GET", "/x_webhook?crc_token=crc-1", {}, b"")
    zoom = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": "p1"}})
    zoom_headers = {"Content-Type": "application/json", **kit.zoom_headers(zoom.encode())}
    needles += sent_secrets(zoom_headers)
    send("zoom validation", "POST", "/zoom_webhook", zoom_headers, zoom.encode())
    # Garbage with a bearer token, to the internal target (its 400 page used to echo it).
    for body in (b"[1]", b"\xff\xfe", b'{"message": 1}', b"{}"):
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        send("process garbage", "POST", "/process_delivery", headers, body)

    log = server.log.read_text(errors="replace")
    leaked = find_secrets([log, *texts], needles)
    report(
        request,
        "5 secrets scan",
        {
            "requests": sum(len(v) for v in statuses.values()),
            "answers by case": {k: sorted(set(v)) for k, v in statuses.items()},
            "needles": len(set(needles)),
            "log bytes scanned": len(log),
            "secrets found": len(leaked),
        },
    )
    assert leaked == []
    assert set(statuses["good"]) <= {200, 202}
    assert {k: v for k, v in statuses.items() if k.startswith("tampered") and v != [401]} == {}
    assert "Traceback" not in log


# --- constant time, by inspection ------------------------------------------------------------

SENSITIVE = {
    "secret",
    "secrets",
    "signature",
    "signatures",
    "candidate",
    "candidates",
    "mac",
    "expected",
    "given",
    "given_digest",
    "state",
    "token",
    "hmacs",
    "encrypted",
}
# Comparisons that look sensitive and are not, each with the reason.
NOT_SECRET = {
    # The body hash in Twilio's URL is public: anyone can compute it from the body.
    (
        "twilio/_verify.py",
        'query.get("bodySHA256", "").lower() != hashlib.sha256(request.body).hexdigest()',
    ),
    # The authorization scheme name, not the token.
    ("_secret.py", 'scheme.lower() != "bearer"'),
    ("_oidc.py", 'scheme.lower() != "bearer"'),
}


def _names(node: ast.AST) -> set[str]:
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.add(child.id)
        elif isinstance(child, ast.Attribute):
            found.add(child.attr)
    return found


def test_no_secret_or_signature_is_compared_with_an_ordinary_operator() -> None:
    providers = ROOT / "shared" / "providers"
    # The sample modules are `runrun send`'s side: they check that an answer echoes the
    # challenge the tool itself sent, a value that is no secret; nothing there is compared
    # with what a caller sent.
    files = sorted(p for p in providers.rglob("*.py") if not p.name.startswith("_sample"))
    offending = []
    inspected = 0
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Compare):
                continue
            if not any(isinstance(op, ast.Eq | ast.NotEq | ast.In | ast.NotIn) for op in node.ops):
                continue
            inspected += 1
            text = ast.unparse(node)
            name = path.relative_to(providers).as_posix()
            if _names(node) & SENSITIVE and (name, text) not in NOT_SECRET:
                offending.append(f"{name}:{node.lineno}: {text}")
    assert inspected > 10
    assert offending == []


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Client:
    clear_provider_env(monkeypatch)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("RUNRUN_STORE", "memory")
    monkeypatch.setenv("RUNRUN_QUEUE", "local")
    reload_settings()
    return Client(build_app(discover(ROOT / "main.py")))


class Spy:
    """Stands in for hmac.compare_digest: records each call and returns `verdict`."""

    def __init__(self, verdict: bool) -> None:
        self.verdict = verdict
        self.calls = 0

    def __call__(self, a: Any, b: Any) -> bool:
        self.calls += 1
        return self.verdict


HMAC_TARGETS = list(WEBHOOK_TARGETS)  # standard_webhook: its v1 (HMAC) signature


@pytest.mark.parametrize("target", HMAC_TARGETS)
def test_compare_digest_decides_every_signature_check(
    app: Client, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    url = f"http://localhost/{target}"
    good, body = signed(target, f"ct-{target}", url)
    assert app.post(f"/{target}", headers=good, data=body).status_code in (200, 202)

    refuse = Spy(False)
    monkeypatch.setattr(hmac, "compare_digest", refuse)
    again, body = signed(target, f"ct2-{target}", url)
    assert app.post(f"/{target}", headers=again, data=body).status_code == 401
    assert refuse.calls >= 1

    accept = Spy(True)
    monkeypatch.setattr(hmac, "compare_digest", accept)
    forged, body = signed(target, f"ct3-{target}", url)
    forged = tampered(target, forged)
    if target == "graph_webhook":
        payload = json.loads(body)
        for item in payload["value"]:
            item["clientState"] = "not-the-client-state"
        body = json.dumps(payload).encode()
    assert app.post(f"/{target}", headers=forged, data=body).status_code in (200, 202)
    assert accept.calls >= 1


def test_meta_verify_token_is_decided_by_compare_digest(
    app: Client, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": kit.META_VERIFY, "hub.challenge": "c"}
    assert app.get("/meta_webhook", query_string=query).status_code == 200
    monkeypatch.setattr(hmac, "compare_digest", Spy(False))
    assert app.get("/meta_webhook", query_string=query).status_code == 403
    monkeypatch.setattr(hmac, "compare_digest", Spy(True))
    wrong = {**query, "hub.verify_token": "a-wrong-token"}
    assert app.get("/meta_webhook", query_string=wrong).status_code == 200
    report(
        request,
        "5 constant-time comparisons",
        {
            "targets where hmac.compare_digest decides": len(HMAC_TARGETS) + 1,
            "verified by a library": list(LIBRARY_VERIFIED),
        },
    )
