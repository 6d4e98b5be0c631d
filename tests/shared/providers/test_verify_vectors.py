"""Signature vectors computed here, with hmac and hashlib, exactly as each provider documents
its scheme; the verifiers must accept every good one and refuse every near miss.

GitHub: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
Stripe: https://docs.stripe.com/webhooks#verify-manually
Slack:  https://api.slack.com/authentication/verifying-requests-from-slack
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import pytest

from shared import VerificationFailed, secrets_from_env
from shared.providers import (
    SignedRequest,
    hmac_matches,
    verify_github,
    verify_shared_secret,
    verify_slack,
    verify_stripe,
)

NOW = 1_700_000_000
TOLERANCE = 300
BODY = b'{"id":"evt_1","type":"ping","data":{"n":1,"text":"caf\xc3\xa9"}}'


def hex_hmac(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def github_header(secret: bytes, body: bytes) -> str:
    return "sha256=" + hex_hmac(secret, body)


def stripe_sig(secret: bytes, stamp: int, body: bytes) -> str:
    return hex_hmac(secret, f"{stamp}.".encode() + body)


def slack_sig(secret: bytes, stamp: int, body: bytes) -> str:
    return "v0=" + hex_hmac(secret, f"v0:{stamp}:".encode() + body)


def request(headers: dict[str, str], body: bytes = BODY, now: float = NOW) -> SignedRequest:
    return SignedRequest(body=body, headers=headers, now=now)


# --- GitHub -----------------------------------------------------------------------------


def test_github_published_example() -> None:
    # The example GitHub's documentation gives, byte for byte.
    secret = b"It's a Secret to Everybody"
    signature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert github_header(secret, b"Hello, World!") == signature
    verify_github(
        request({"x-hub-signature-256": signature}, body=b"Hello, World!"), [secret], TOLERANCE
    )


@pytest.mark.parametrize(
    "body",
    [BODY, b"", b"{}", b'{"a": 1}\n', "\u00e9\u4e2d\U0001f600".encode(), bytes(range(256))],
    ids=["json", "empty", "braces", "trailing-newline", "utf8", "all-bytes"],
)
def test_github_accepts_hmac_of_raw_body(body: bytes) -> None:
    secret = b"gh-secret"
    verify_github(
        request({"x-hub-signature-256": github_header(secret, body)}, body=body),
        [secret],
        TOLERANCE,
    )


def test_github_uppercase_hex_is_the_same_signature() -> None:
    secret = b"gh-secret"
    value = "sha256=" + hex_hmac(secret, BODY).upper()
    verify_github(request({"x-hub-signature-256": value}), [secret], TOLERANCE)


@pytest.mark.parametrize(
    "header",
    [
        github_header(b"other-secret", BODY),
        github_header(b"gh-secret", BODY + b" "),
        github_header(b"gh-secret", BODY)[:-2],
        "sha1=" + hmac.new(b"gh-secret", BODY, hashlib.sha1).hexdigest(),
    ],
    ids=["wrong-secret", "other-body", "truncated", "legacy-sha1"],
)
def test_github_refuses_near_misses(header: str) -> None:
    with pytest.raises(VerificationFailed):
        verify_github(request({"x-hub-signature-256": header}), [b"gh-secret"], TOLERANCE)


# --- Stripe -----------------------------------------------------------------------------

STRIPE_SECRET = b"whsec_test_secret"


def test_stripe_single_v1() -> None:
    header = f"t={NOW},v1={stripe_sig(STRIPE_SECRET, NOW, BODY)}"
    verify_stripe(request({"stripe-signature": header}), [STRIPE_SECRET], TOLERANCE)


@pytest.mark.parametrize("position", [0, 1, 2])
def test_stripe_several_v1_during_rotation(position: int) -> None:
    # While a secret is rolled Stripe signs with each active one: any match is enough.
    signatures = [stripe_sig(b"whsec_retired_a", NOW, BODY), stripe_sig(b"whsec_b", NOW, BODY)]
    signatures.insert(position, stripe_sig(STRIPE_SECRET, NOW, BODY))
    header = f"t={NOW}," + ",".join(f"v1={s}" for s in signatures)
    verify_stripe(request({"stripe-signature": header}), [STRIPE_SECRET], TOLERANCE)


def test_stripe_ignores_v0_entry() -> None:
    # v0 is a test-mode scheme the SDKs ignore: a valid v0 alone is not enough, a garbage
    # v0 beside a good v1 does no harm.
    good_v1 = stripe_sig(STRIPE_SECRET, NOW, BODY)
    v0_only = f"t={NOW},v0={good_v1}"
    with pytest.raises(VerificationFailed):
        verify_stripe(request({"stripe-signature": v0_only}), [STRIPE_SECRET], TOLERANCE)
    for header in (f"t={NOW},v0=not-hex,v1={good_v1}", f"t={NOW},v1={good_v1},v0={good_v1}"):
        verify_stripe(request({"stripe-signature": header}), [STRIPE_SECRET], TOLERANCE)


def test_stripe_items_in_any_order_with_spaces() -> None:
    header = f"v1={stripe_sig(STRIPE_SECRET, NOW, BODY)}, t={NOW}"
    verify_stripe(request({"stripe-signature": header}), [STRIPE_SECRET], TOLERANCE)


@pytest.mark.parametrize("skew", [-TOLERANCE, -1, 0, 1, TOLERANCE])
def test_stripe_tolerance_accepts_inside(skew: int) -> None:
    stamp = NOW + skew
    header = f"t={stamp},v1={stripe_sig(STRIPE_SECRET, stamp, BODY)}"
    verify_stripe(request({"stripe-signature": header}), [STRIPE_SECRET], TOLERANCE)


@pytest.mark.parametrize("skew", [-TOLERANCE - 1, TOLERANCE + 1, -86_400, 86_400])
def test_stripe_tolerance_refuses_outside_both_sides(skew: int) -> None:
    stamp = NOW + skew
    header = f"t={stamp},v1={stripe_sig(STRIPE_SECRET, stamp, BODY)}"
    with pytest.raises(VerificationFailed):
        verify_stripe(request({"stripe-signature": header}), [STRIPE_SECRET], TOLERANCE)


@pytest.mark.parametrize(
    "header",
    [
        f"t={NOW},v1={stripe_sig(b'whsec_other', NOW, BODY)}",
        # Signed for another timestamp: the t= in the header is part of the signed bytes.
        f"t={NOW},v1={stripe_sig(STRIPE_SECRET, NOW - 1, BODY)}",
        f"t={NOW},v1={stripe_sig(STRIPE_SECRET, NOW, BODY + b'x')}",
        f"t={NOW},v1={hex_hmac(STRIPE_SECRET, BODY)}",
    ],
    ids=["wrong-secret", "other-timestamp", "other-body", "body-without-timestamp"],
)
def test_stripe_refuses_near_misses(header: str) -> None:
    with pytest.raises(VerificationFailed):
        verify_stripe(request({"stripe-signature": header}), [STRIPE_SECRET], TOLERANCE)


# --- Slack ------------------------------------------------------------------------------

SLACK_SECRET = b"8f742231b10e8888abcd99yyyzzz85a5"


def slack_headers(stamp: int, signature: str) -> dict[str, str]:
    return {"x-slack-request-timestamp": str(stamp), "x-slack-signature": signature}


def test_slack_signature() -> None:
    headers = slack_headers(NOW, slack_sig(SLACK_SECRET, NOW, BODY))
    verify_slack(request(headers), [SLACK_SECRET], TOLERANCE)


def test_slack_form_encoded_body() -> None:
    # Slash commands and interactivity post form bodies: the raw bytes are what is signed.
    body = b"token=xyz&team_id=T1&command=%2Fdeploy&text=a+b"
    headers = slack_headers(NOW, slack_sig(SLACK_SECRET, NOW, body))
    verify_slack(request(headers, body=body), [SLACK_SECRET], TOLERANCE)


@pytest.mark.parametrize("skew", [-5 * 60, -1, 0, 1, 5 * 60])
def test_slack_five_minutes_accepted(skew: int) -> None:
    stamp = NOW + skew
    headers = slack_headers(stamp, slack_sig(SLACK_SECRET, stamp, BODY))
    verify_slack(request(headers), [SLACK_SECRET], TOLERANCE)


@pytest.mark.parametrize("skew", [-5 * 60 - 1, 5 * 60 + 1, -3600, 3600])
def test_slack_outside_five_minutes_refused(skew: int) -> None:
    stamp = NOW + skew
    headers = slack_headers(stamp, slack_sig(SLACK_SECRET, stamp, BODY))
    with pytest.raises(VerificationFailed):
        verify_slack(request(headers), [SLACK_SECRET], TOLERANCE)


@pytest.mark.parametrize(
    "headers",
    [
        slack_headers(NOW, slack_sig(b"other", NOW, BODY)),
        slack_headers(NOW, slack_sig(SLACK_SECRET, NOW - 1, BODY)),
        slack_headers(NOW, slack_sig(SLACK_SECRET, NOW, BODY + b"\n")),
        slack_headers(NOW, "v0=" + hex_hmac(SLACK_SECRET, BODY)),
        slack_headers(NOW, "v1=" + slack_sig(SLACK_SECRET, NOW, BODY)[3:]),
    ],
    ids=["wrong-secret", "other-timestamp", "other-body", "no-basestring", "wrong-version"],
)
def test_slack_refuses_near_misses(headers: dict[str, str]) -> None:
    with pytest.raises(VerificationFailed):
        verify_slack(request(headers), [SLACK_SECRET], TOLERANCE)


# --- Shared secret ----------------------------------------------------------------------

SHARED = b"s3cr3t-value"


@pytest.mark.parametrize(
    "headers",
    [
        {"secret": "s3cr3t-value"},
        {"secret": "  s3cr3t-value  "},
        {"authorization": "Bearer s3cr3t-value"},
        {"authorization": "bearer s3cr3t-value"},
        {"authorization": "BEARER s3cr3t-value"},
    ],
    ids=["secret", "secret-padded", "bearer", "bearer-lower", "bearer-upper"],
)
def test_shared_secret_accepted(headers: dict[str, str]) -> None:
    verify_shared_secret(request(headers), [SHARED], TOLERANCE)


@pytest.mark.parametrize(
    "headers",
    [
        {"secret": "s3cr3t-valuE"},
        {"secret": "s3cr3t-value-and-more"},
        {"secret": "s3cr3t"},
        {"authorization": "Bearer wrong"},
        {"authorization": "Basic s3cr3t-value"},
        {"authorization": "s3cr3t-value"},
        {"x-secret": "s3cr3t-value"},
        {},
    ],
    ids=["case", "longer", "prefix", "bearer-wrong", "basic", "no-scheme", "other-header", "none"],
)
def test_shared_secret_refused(headers: dict[str, str]) -> None:
    with pytest.raises(VerificationFailed):
        verify_shared_secret(request(headers), [SHARED], TOLERANCE)


# --- Secret rotation --------------------------------------------------------------------


def signed_headers(provider: str, secret: bytes) -> dict[str, str]:
    if provider == "github":
        return {"x-hub-signature-256": github_header(secret, BODY)}
    if provider == "stripe":
        return {"stripe-signature": f"t={NOW},v1={stripe_sig(secret, NOW, BODY)}"}
    if provider == "slack":
        return slack_headers(NOW, slack_sig(secret, NOW, BODY))
    return {"authorization": "Bearer " + secret.decode()}


VERIFIERS = {
    "github": verify_github,
    "stripe": verify_stripe,
    "slack": verify_slack,
    "shared": verify_shared_secret,
}


@pytest.mark.parametrize("provider", sorted(VERIFIERS))
@pytest.mark.parametrize("signer", [b"old-secret", b"new-secret"])
def test_rotation_env_accepts_either_secret(
    provider: str, signer: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATING_SECRET", " old-secret , new-secret ")
    secrets: Sequence[bytes] = secrets_from_env("ROTATING_SECRET")
    assert secrets == [b"old-secret", b"new-secret"]
    VERIFIERS[provider](request(signed_headers(provider, signer)), secrets, TOLERANCE)


@pytest.mark.parametrize("provider", sorted(VERIFIERS))
def test_rotation_env_refuses_a_third_secret(
    provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTATING_SECRET", "old-secret,new-secret")
    with pytest.raises(VerificationFailed):
        VERIFIERS[provider](
            request(signed_headers(provider, b"retired-secret")),
            secrets_from_env("ROTATING_SECRET"),
            TOLERANCE,
        )


@pytest.mark.parametrize("raw", ["", " ", ",", " , ,"])
def test_rotation_env_without_secrets_is_empty(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTATING_SECRET", raw)
    assert secrets_from_env("ROTATING_SECRET") == []


def test_hmac_matches_any_secret_any_candidate() -> None:
    message = b"m"
    good = hmac.new(b"b", message, hashlib.sha256).digest()
    assert hmac_matches([b"a", b"b"], message, [b"\x00" * 32, good])
    assert not hmac_matches([b"a"], message, [good])
    assert not hmac_matches([], message, [good])
    assert not hmac_matches([b"b"], message, [])
