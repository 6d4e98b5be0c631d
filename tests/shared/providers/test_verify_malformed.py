"""Malformed signature headers, verifier by verifier: every one is VerificationFailed (401),
never another exception, and over HTTP a JSON error that repeats no secret and no signature.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import flask
import functions_framework
import pytest
import svix.webhooks
from flask.testing import FlaskClient
from twilio.request_validator import HMAC_SHA256, RequestValidator

from shared import VerificationFailed
from shared.providers import (
    SignedRequest,
    verify_github,
    verify_shared_secret,
    verify_slack,
    verify_standard,
    verify_stripe,
    verify_twilio,
)
from tests.support.helpers import hex_hmac

ROOT = Path(__file__).resolve().parents[3]
TOLERANCE = 300
HUGE = 100 * 1024
HOST = "http://localhost"

Headers = dict[str, str]
Verifier = Callable[[SignedRequest, list[bytes], int], None]


@dataclass(frozen=True)
class Provider:
    name: str
    target: str
    secret_env: str
    secret: str
    verify: Verifier
    body: bytes
    extra: Headers  # what the target needs besides the signature (delivery id, event)
    sign: Callable[[str, bytes, int], Headers]  # (secret, body, timestamp) -> headers
    path: Callable[[bytes], str] = lambda body: "/"  # where the body is posted (and signed)
    old_secret: str = ""  # the secret being rotated out (default: secret + "-old")
    other_env: tuple[tuple[str, str], ...] = ()  # more variables the target is deployed with

    @property
    def retiring(self) -> str:
        return self.old_secret or f"{self.secret}-old"


def _github(secret: str, body: bytes, stamp: int) -> Headers:
    return {"x-hub-signature-256": "sha256=" + hex_hmac(secret, body)}


def _stripe(secret: str, body: bytes, stamp: int) -> Headers:
    return {"stripe-signature": f"t={stamp},v1={hex_hmac(secret, f'{stamp}.'.encode() + body)}"}


def _slack(secret: str, body: bytes, stamp: int) -> Headers:
    signature = "v0=" + hex_hmac(secret, f"v0:{stamp}:".encode() + body)
    return {"x-slack-request-timestamp": str(stamp), "x-slack-signature": signature}


def _shared(secret: str, body: bytes, stamp: int) -> Headers:
    return {"secret": secret}


def _svix(secret: str, body: bytes, stamp: int) -> Headers:
    """Svix's default header names, signed by Svix's own library."""
    msg_id = "msg_" + hashlib.sha256(body).hexdigest()[:16]
    when = datetime.datetime.fromtimestamp(stamp, tz=datetime.UTC)
    signature = svix.webhooks.Webhook(secret).sign(msg_id, when, body.decode())
    return {"svix-id": msg_id, "svix-timestamp": str(stamp), "svix-signature": signature}


def _whsec(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


TWILIO_KEY_ID = "webhooks_sharedkey_01jmalformed00000000000000"


def _twilio_path(body: bytes) -> str:
    # A JSON body: Twilio signs the URL, which carries the body's SHA-256.
    return "/?bodySHA256=" + hashlib.sha256(body).hexdigest()


def _twilio_shared(secret: str, body: bytes, stamp: int) -> Headers:
    """A SharedKey signature, by Twilio's own library."""
    url = HOST + _twilio_path(body)
    signature = RequestValidator(secret).compute_signature(url, {}, HMAC_SHA256)
    return {
        "x-twilio-signature": signature,
        "x-twilio-webhooks-signature-settings": f"key={TWILIO_KEY_ID},algorithm=HMAC_SHA256",
    }


def _verify_twilio_shared(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    # Whatever the auth token, only the shared-key secret may verify these requests.
    verify_twilio(request, [b"twilio-auth-token-never-used"], tolerance, shared_keys=secrets)


PROVIDERS = {
    p.name: p
    for p in (
        Provider(
            "github",
            "github_webhook",
            "GITHUB_WEBHOOK_SECRET",
            "gh-malformed-secret-0001",
            verify_github,
            b'{"action":"opened","number":1}',
            {"x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958", "x-github-event": "x"},
            _github,
        ),
        Provider(
            "stripe",
            "stripe_webhook",
            "STRIPE_WEBHOOK_SECRET",
            "whsec_malformed0002",
            verify_stripe,
            b'{"id":"evt_malformed","type":"charge.succeeded"}',
            {},
            _stripe,
        ),
        Provider(
            "slack",
            "slack_events",
            "SLACK_SIGNING_SECRET",
            "slack-malformed-secret-0003",
            verify_slack,
            b'{"type":"event_callback","event_id":"Ev01","event":{"type":"message"}}',
            {},
            _slack,
        ),
        Provider(
            "shared",
            "generic_webhook",
            "WEBHOOK_SECRET",
            "shared-malformed-secret-0004",
            verify_shared_secret,
            b'{"id":"generic-1","type":"thing"}',
            {},
            _shared,
        ),
        Provider(
            "svix",
            "standard_webhook",
            "STANDARD_WEBHOOK_SECRET",
            _whsec(b"svix-malformed-secret-key-0005xx"),
            verify_standard,
            b'{"id":"svix-1","type":"invoice.paid"}',
            {},
            _svix,
            old_secret=_whsec(b"svix-malformed-retiring-key-0005"),
        ),
        Provider(
            "twilio-shared-key",
            "twilio_webhook",
            "TWILIO_SHARED_KEY_SECRET",
            "twilio-shared-key-malformed-0006",
            _verify_twilio_shared,
            b'{"id":"twilio-1","AccountSid":"AC1"}',
            {},
            _twilio_shared,
            path=_twilio_path,
            # The auth token set too: without the settings header, a refusal and not a 500.
            other_env=(("TWILIO_AUTH_TOKEN", "twilio-auth-token-malformed-0007"),),
        ),
    )
}

# A case turns the provider's good headers (at time `now`) into malformed ones.
Mutation = Callable[[Provider, int], Headers]


def good(p: Provider, now: int) -> Headers:
    return p.sign(p.secret, p.body, now)


def replace(name: str, value: str) -> Mutation:
    def mutate(p: Provider, now: int) -> Headers:
        return {**good(p, now), name: value}

    return mutate


def drop(name: str) -> Mutation:
    def mutate(p: Provider, now: int) -> Headers:
        headers = good(p, now)
        del headers[name]
        return headers

    return mutate


def duplicated(name: str) -> Mutation:
    # Two header lines of the same name reach a WSGI app as one value joined with ", ".
    def mutate(p: Provider, now: int) -> Headers:
        headers = good(p, now)
        headers[name] = f"{headers[name]}, {headers[name]}"
        return headers

    return mutate


def signed_at(offset: int) -> Mutation:
    """Correctly signed, but for a timestamp `offset` seconds away from now."""

    def mutate(p: Provider, now: int) -> Headers:
        return p.sign(p.secret, p.body, now + offset)

    return mutate


def stripe_items(template: str) -> Mutation:
    """A Stripe-Signature built from `template` with {t} and {v1} filled in correctly."""

    def mutate(p: Provider, now: int) -> Headers:
        v1 = hex_hmac(p.secret, f"{now}.".encode() + p.body)
        return {"stripe-signature": template.format(t=now, v1=v1)}

    return mutate


def slack_stamp(value: str) -> Mutation:
    """Slack headers signed over `value` as the timestamp, whatever it is."""

    def mutate(p: Provider, now: int) -> Headers:
        signature = "v0=" + hex_hmac(p.secret, f"v0:{value}:".encode() + p.body)
        return {"x-slack-request-timestamp": value, "x-slack-signature": signature}

    return mutate


def common(name: str, prefix: str) -> list[tuple[str, Mutation]]:
    """The table every signature header gets."""
    return [
        ("missing", drop(name)),
        ("empty", replace(name, "")),
        ("whitespace", replace(name, " \t ")),
        ("garbage", replace(name, "garbage")),
        ("prefix-only", replace(name, prefix)),
        ("bad-hex", replace(name, prefix + "zz" * 32)),
        ("odd-hex", replace(name, prefix + "a" * 63)),
        ("duplicated", duplicated(name)),
        ("huge", replace(name, prefix + "a" * HUGE)),
        ("huge-garbage", replace(name, "\x7f" * HUGE)),
        ("non-ascii", replace(name, prefix + "\u00e9" * 64)),
        ("non-latin1", replace(name, prefix + "\u20ac" + "a" * 63)),
        ("control-chars", replace(name, prefix + "\x00\x01")),
    ]


GITHUB_CASES = [
    *common("x-hub-signature-256", "sha256="),
    ("wrong-prefix-sha1", lambda p, now: {"x-hub-signature-256": "sha1=" + "a" * 40}),
    ("prefix-uppercase", lambda p, now: {"x-hub-signature-256": "SHA256=" + "a" * 64}),
    ("no-prefix", lambda p, now: {"x-hub-signature-256": hex_hmac(p.secret, p.body)}),
    ("legacy-header-only", lambda p, now: {"x-hub-signature": "sha1=" + "a" * 40}),
    ("prefix-twice", lambda p, now: {"x-hub-signature-256": "sha256=sha256=" + "a" * 64}),
]

STRIPE_CASES = [
    *common("stripe-signature", "v1="),
    ("t-missing", stripe_items("v1={v1}")),
    ("t-repeated", stripe_items("t={t},t={t},v1={v1}")),
    ("t-empty", stripe_items("t=,v1={v1}")),
    ("t-non-numeric", stripe_items("t=abc,v1={v1}")),
    ("t-negative", stripe_items("t=-{t},v1={v1}")),
    ("t-float", stripe_items("t={t}.5,v1={v1}")),
    ("t-huge", stripe_items("t=9{t}{t}{t},v1={v1}")),
    ("t-plus-sign", stripe_items("t=+{t},v1={v1}")),
    ("t-non-ascii-digits", stripe_items("t=\u0661\u0662\u0663,v1={v1}")),
    ("stale", signed_at(-TOLERANCE - 60)),
    ("future", signed_at(TOLERANCE + 60)),
    ("no-v1", stripe_items("t={t}")),
    ("only-v0", stripe_items("t={t},v0={v1}")),
    ("v1-empty", stripe_items("t={t},v1=")),
    ("v1-bad-hex", stripe_items("t={t},v1=xyz")),
    ("v1-odd-hex", stripe_items("t={t},v1=abc")),
    ("item-without-equals", stripe_items("t={t},v1={v1},garbage")),
    ("only-commas", replace("stripe-signature", ",,,")),
    ("only-equals", replace("stripe-signature", "=")),
    ("semicolons", stripe_items("t={t};v1={v1}")),
    ("duplicated-header-lines", duplicated("stripe-signature")),
]

SLACK_CASES = [
    *common("x-slack-signature", "v0="),
    ("wrong-prefix", lambda p, now: {**good(p, now), "x-slack-signature": "v1=" + "a" * 64}),
    ("timestamp-missing", drop("x-slack-request-timestamp")),
    ("timestamp-empty", replace("x-slack-request-timestamp", "")),
    ("timestamp-whitespace", replace("x-slack-request-timestamp", "   ")),
    ("timestamp-non-numeric", slack_stamp("yesterday")),
    ("timestamp-negative", slack_stamp("-1")),
    ("timestamp-float", slack_stamp("1700000000.5")),
    ("timestamp-huge", slack_stamp("9" * 40)),
    ("timestamp-zero", slack_stamp("0")),
    ("timestamp-non-ascii", slack_stamp("\u0661\u0662\u0663")),
    ("timestamp-duplicated", duplicated("x-slack-request-timestamp")),
    ("timestamp-huge-header", replace("x-slack-request-timestamp", "1" * HUGE)),
    ("stale", signed_at(-5 * 60 - 60)),
    ("future", signed_at(5 * 60 + 60)),
]

SHARED_CASES = [
    ("missing", lambda p, now: {}),
    ("secret-empty", replace("secret", "")),
    ("secret-whitespace", replace("secret", "  \t")),
    ("secret-garbage", replace("secret", "garbage")),
    ("secret-duplicated", duplicated("secret")),
    ("secret-huge", replace("secret", "a" * HUGE)),
    ("secret-non-ascii", replace("secret", "s\u00e9cret")),
    ("secret-non-latin1", replace("secret", "\u20ac")),
    ("secret-with-bearer", lambda p, now: {"secret": "Bearer " + p.secret}),
    ("bearer-empty", lambda p, now: {"authorization": ""}),
    ("bearer-scheme-only", lambda p, now: {"authorization": "Bearer"}),
    ("bearer-scheme-space", lambda p, now: {"authorization": "Bearer   "}),
    ("basic", lambda p, now: {"authorization": "Basic " + p.secret}),
    ("no-scheme", lambda p, now: {"authorization": p.secret}),
    ("bearer-garbage", lambda p, now: {"authorization": "Bearer garbage"}),
    ("bearer-duplicated", lambda p, now: {"authorization": f"Bearer {p.secret}, Bearer x"}),
    ("bearer-huge", lambda p, now: {"authorization": "Bearer " + "a" * HUGE}),
    ("bearer-non-ascii", lambda p, now: {"authorization": "Bearer \u00e9"}),
    # A Secret header, even a blank one, is what is checked: no fallback to Authorization.
    (
        "secret-blank-bearer-good",
        lambda p, now: {"secret": " ", "authorization": "Bearer " + p.secret},
    ),
]


def svix_stamp(value: str) -> Mutation:
    """Svix headers whose timestamp is `value`, signed over it as it is."""

    def mutate(p: Provider, now: int) -> Headers:
        msg_id = "msg_stamp"
        key = base64.b64decode(p.secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{value}.".encode() + p.body, hashlib.sha256).digest()
        signature = "v1," + base64.b64encode(mac).decode()
        return {"svix-id": msg_id, "svix-timestamp": value, "svix-signature": signature}

    return mutate


def renamed(old: str, new: str) -> Mutation:
    """Good headers with one of them sent under the other family's name."""

    def mutate(p: Provider, now: int) -> Headers:
        headers = good(p, now)
        headers[new] = headers.pop(old)
        return headers

    return mutate


SVIX_CASES = [
    # Not "duplicated": the signature header is a list, and a repeated line still holds a
    # valid entry, which the specification accepts. The id and timestamp lines are checked.
    *[case for case in common("svix-signature", "v1,") if case[0] != "duplicated"],
    ("id-missing", drop("svix-id")),
    ("id-empty", replace("svix-id", "")),
    ("id-duplicated", duplicated("svix-id")),
    ("id-huge", replace("svix-id", "m" * HUGE)),
    ("id-non-ascii", replace("svix-id", "msg_\u00e9")),
    ("timestamp-missing", drop("svix-timestamp")),
    ("timestamp-duplicated", duplicated("svix-timestamp")),
    ("timestamp-non-numeric", svix_stamp("yesterday")),
    ("timestamp-float", svix_stamp("1700000000.5")),
    ("timestamp-negative", svix_stamp("-1")),
    ("timestamp-huge", svix_stamp("9" * 40)),
    ("stale", signed_at(-TOLERANCE - 60)),
    ("future", signed_at(TOLERANCE + 60)),
    # One family per request: webhook-* names beside svix-* ones do not fill the gaps.
    ("signature-as-webhook", renamed("svix-signature", "webhook-signature")),
    ("timestamp-as-webhook", renamed("svix-timestamp", "webhook-timestamp")),
    ("id-as-webhook", renamed("svix-id", "webhook-id")),
    ("version-v2", lambda p, now: {**good(p, now), "svix-signature": "v2," + "A" * 44}),
    (
        "v1a-without-public-key",
        lambda p, now: {**good(p, now), "svix-signature": "v1a," + "A" * 88},
    ),
]

SETTINGS = "x-twilio-webhooks-signature-settings"
TWILIO_SHARED_CASES = [
    *common("x-twilio-signature", ""),
    # Without the settings header the auth token is what verifies: the shared key is not.
    ("settings-missing", drop(SETTINGS)),
    ("settings-empty", replace(SETTINGS, "")),
    ("settings-whitespace", replace(SETTINGS, " \t ")),
    ("settings-garbage", replace(SETTINGS, "garbage")),
    ("settings-key-only", replace(SETTINGS, f"key={TWILIO_KEY_ID}")),
    ("settings-algorithm-only", replace(SETTINGS, "algorithm=HMAC_SHA256")),
    ("settings-key-empty", replace(SETTINGS, "key=,algorithm=HMAC_SHA256")),
    ("settings-algorithm-empty", replace(SETTINGS, f"key={TWILIO_KEY_ID},algorithm=")),
    ("settings-unknown-algorithm", replace(SETTINGS, f"key={TWILIO_KEY_ID},algorithm=HMAC_MD5")),
    ("settings-other-algorithm", replace(SETTINGS, f"key={TWILIO_KEY_ID},algorithm=HMAC_SHA1")),
    (
        "settings-algorithm-twice",
        replace(SETTINGS, f"key={TWILIO_KEY_ID},algorithm=HMAC_SHA256,algorithm=HMAC_SHA1"),
    ),
    ("settings-semicolons", replace(SETTINGS, f"key={TWILIO_KEY_ID};algorithm=HMAC_SHA256")),
    ("settings-item-without-equals", replace(SETTINGS, f"key={TWILIO_KEY_ID},HMAC_SHA256")),
    ("settings-duplicated", duplicated(SETTINGS)),
    ("settings-huge", replace(SETTINGS, "key=" + "k" * HUGE + ",algorithm=HMAC_SHA256")),
    ("settings-non-ascii", replace(SETTINGS, "key=\u00e9,algorithm=HMAC_SHA256")),
    ("settings-control-chars", replace(SETTINGS, "key=\x00,algorithm=\x01")),
]

CASES = {
    "github": GITHUB_CASES,
    "stripe": STRIPE_CASES,
    "slack": SLACK_CASES,
    "shared": SHARED_CASES,
    "svix": SVIX_CASES,
    "twilio-shared-key": TWILIO_SHARED_CASES,
}
TABLE = [
    pytest.param(provider, mutate, id=f"{provider}-{case}")
    for provider, cases in CASES.items()
    for case, mutate in cases
]


def test_case_ids_are_unique() -> None:
    ids = [f"{provider}-{case}" for provider, cases in CASES.items() for case, _ in cases]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_good_headers_pass(provider: str) -> None:
    # The baseline each malformed case departs from is itself valid.
    p = PROVIDERS[provider]
    now = 1_700_000_000
    request = SignedRequest(p.body, good(p, now), url=HOST + p.path(p.body), now=now)
    p.verify(request, [p.secret.encode()], TOLERANCE)


@pytest.mark.parametrize(("provider", "mutate"), TABLE)
def test_verifier_refuses(provider: str, mutate: Mutation) -> None:
    p = PROVIDERS[provider]
    now = 1_700_000_000
    headers = mutate(p, now)
    with pytest.raises(VerificationFailed) as caught:
        request = SignedRequest(p.body, headers, url=HOST + p.path(p.body), now=now)
        p.verify(request, [p.secret.encode()], TOLERANCE)
    assert caught.value.status_code == 401
    assert_no_leak(caught.value.message, p, headers)


# --- Over HTTP --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[str, FlaskClient]]:
    source = str(ROOT / "main.py")
    yield {
        name: functions_framework.create_app(p.target, source=source).test_client()
        for name, p in PROVIDERS.items()
    }


# Item names of a header, which an error message names: not values.
HEADER_WORDS = {"algorithm"}


def assert_no_leak(text: str, p: Provider, headers: Headers) -> None:
    assert p.secret not in text
    good_values = good(p, int(time.time())).values()
    for value in [*headers.values(), *good_values]:
        # Short values ("t", "v1=") cannot be told apart from words of the message.
        for part in value.replace(",", " ").replace("=", " ").split():
            if len(part) >= 8 and not part.isdigit() and part not in HEADER_WORDS:
                assert part not in text


def configure(monkeypatch: pytest.MonkeyPatch, p: Provider, secrets: str = "") -> None:
    monkeypatch.setenv(p.secret_env, secrets or p.secret)
    for name, value in p.other_env:
        monkeypatch.setenv(name, value)


def post(
    client: FlaskClient, p: Provider, headers: Headers | list[tuple[str, str]]
) -> flask.Response:
    extra = list(p.extra.items())
    given = list(headers.items()) if isinstance(headers, dict) else headers
    return client.post(
        p.path(p.body), data=p.body, content_type="application/json", headers=extra + given
    )


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_http_good_headers_accepted(
    provider: str, clients: dict[str, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = PROVIDERS[provider]
    configure(monkeypatch, p)
    response = post(clients[provider], p, good(p, int(time.time())))
    assert response.status_code == 200, response.get_data(as_text=True)
    if response.is_json:
        assert response.json is not None and response.json["status"] == "accepted"
    else:  # Twilio is answered in TwiML
        assert response.data.endswith(b"<Response></Response>")


@pytest.mark.parametrize(("provider", "mutate"), TABLE)
def test_http_answers_401_json(
    provider: str,
    mutate: Mutation,
    clients: dict[str, FlaskClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = PROVIDERS[provider]
    configure(monkeypatch, p)
    headers = mutate(p, int(time.time()))
    response = post(clients[provider], p, headers)
    text = response.get_data(as_text=True)
    assert response.status_code == 401, text
    assert response.mimetype == "application/json"
    body = json.loads(text)
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"]
    assert_no_leak(text, p, headers)
    for value in response.headers.values():
        assert p.secret not in value


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_http_two_header_lines_are_refused(
    provider: str, clients: dict[str, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Sent as two real header lines, not pre-joined: the server joins them, we refuse.
    p = PROVIDERS[provider]
    configure(monkeypatch, p)
    headers = good(p, int(time.time()))
    lines = list(headers.items()) + list(headers.items())
    response = post(clients[provider], p, lines)
    assert response.status_code == 401, response.get_data(as_text=True)
    assert_no_leak(response.get_data(as_text=True), p, headers)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_http_secret_rotation(
    provider: str, clients: dict[str, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    p = PROVIDERS[provider]
    configure(monkeypatch, p, f"{p.retiring},{p.secret}")
    retired = _whsec(b"retired") if p.secret.startswith("whsec_") else "retired"
    for signer, expected in ((p.retiring, 200), (p.secret, 200), (retired, 401)):
        body = json.loads(p.body)
        body_id = f"rotation-{signer}"
        # A fresh delivery each time, so that the answer is not a replay.
        extra = dict(p.extra)
        if "x-github-delivery" in extra:
            extra["x-github-delivery"] = body_id
        body["id"] = body["event_id"] = body_id
        raw = json.dumps(body).encode()
        headers = {**extra, **p.sign(signer, raw, int(time.time()))}
        response = clients[provider].post(
            p.path(raw), data=raw, content_type="application/json", headers=headers
        )
        assert response.status_code == expected, (signer, response.get_data(as_text=True))
