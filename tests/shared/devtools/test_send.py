"""`runrun send` with the bundle's samples (each provider's, in shared/providers/<name>/):
its signers against the providers' published examples, its samples against the targets of
main.py, and every sample event sent to a real `runrun serve`.

GitHub:   https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
Slack:    https://api.slack.com/authentication/verifying-requests-from-slack
Standard: https://github.com/standard-webhooks/standard-webhooks (the libraries' README example)
Twilio:   https://www.twilio.com/docs/usage/security#validating-requests
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import main
from runrun._cli import main as cli
from shared.devtools._targets import described_targets
from shared.providers import (
    Fulfilment,
    Provider,
    SignedRequest,
    verify_dropbox,
    verify_github,
    verify_shopify,
    verify_slack,
    verify_standard,
    verify_stripe,
    verify_twilio,
    verify_x,
    verify_zoom,
)
from shared.providers._samples import Samples, fill
from shared.providers.dropbox import sign_dropbox
from shared.providers.github import sign_github
from shared.providers.meta import sign_meta
from shared.providers.shopify import sign_shopify
from shared.providers.slack import sign_slack
from shared.providers.standard import sign_standard
from shared.providers.stripe import sign_stripe
from shared.providers.twilio import sign_twilio, twilio_body_url
from shared.providers.x import sign_x
from shared.providers.zoom import sign_zoom, zoom_encrypted_token
from tests.support.runrun_scenarios import corpus
from tests.support.runrun_scenarios.processes import Server, base_env, runrun

# --- the published examples --------------------------------------------------------------


def test_github_published_example() -> None:
    signature = sign_github(b"It's a Secret to Everybody", b"Hello, World!")
    assert signature == "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"


SLACK_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F3977008"
    b"85554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c4"
    b"47fce8b6703c"
)


def test_slack_published_example() -> None:
    signature = sign_slack(b"8f742231b10e8888abcd99yyyzzz85a5", 1531420618, SLACK_BODY)
    assert signature == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_standard_webhooks_published_example() -> None:
    signature = sign_standard(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_twilio_published_example() -> None:
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sign_twilio(b"12345", url, reversed(params)) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


# --- the rest, spelled out from each provider's description of its scheme ---------------

BODY = b'{"id":"evt_1","text":"caf\xc3\xa9"}'
NOW = 1_700_000_000


def _hex(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def test_documented_schemes() -> None:
    secret = b"s3cret"
    assert sign_stripe(secret, NOW, BODY) == f"t={NOW},v1=" + _hex(secret, b"1700000000." + BODY)
    assert sign_zoom(secret, NOW, BODY) == "v0=" + _hex(secret, b"v0:1700000000:" + BODY)
    assert zoom_encrypted_token(secret, "tok") == _hex(secret, b"tok")
    assert sign_dropbox(secret, BODY) == _hex(secret, BODY)
    digest = hmac.new(secret, BODY, hashlib.sha256).digest()
    assert sign_shopify(secret, BODY) == base64.b64encode(digest).decode()
    assert sign_x(secret, BODY) == "sha256=" + sign_shopify(secret, BODY)
    assert sign_meta(secret, BODY) == sign_github(secret, BODY)  # Meta signs as GitHub does
    assert twilio_body_url("https://a.b/c", BODY).endswith(hashlib.sha256(BODY).hexdigest())


def _signed(headers: dict[str, str], body: bytes = BODY, url: str = "") -> SignedRequest:
    return SignedRequest(body=body, headers=headers, url=url, now=NOW)


def test_the_verifiers_accept_what_the_signers_sign() -> None:
    # Written apart, checked against each other: each side also has its own vectors.
    s = b"round-trip"
    verify_github(_signed({"x-hub-signature-256": sign_github(s, BODY)}), [s], 300)
    verify_stripe(_signed({"stripe-signature": sign_stripe(s, NOW, BODY)}), [s], 300)
    slack = {"x-slack-signature": sign_slack(s, NOW, BODY), "x-slack-request-timestamp": str(NOW)}
    verify_slack(_signed(slack), [s], 300)
    zoom = {"x-zm-signature": sign_zoom(s, NOW, BODY), "x-zm-request-timestamp": str(NOW)}
    verify_zoom(_signed(zoom), [s], 300)
    verify_shopify(_signed({"x-shopify-hmac-sha256": sign_shopify(s, BODY)}), [s], 300)
    verify_x(_signed({"x-twitter-webhooks-signature": sign_x(s, BODY)}), [s], 300)
    verify_dropbox(_signed({"x-dropbox-signature": sign_dropbox(s, BODY)}), [s], 300)
    form = [("To", "+1"), ("Body", "hi")]
    url = "https://example.com/twilio_webhook"
    twilio = SignedRequest(
        body=b"",
        headers={
            "x-twilio-signature": sign_twilio(s, url, form),
            "content-type": "application/x-www-form-urlencoded",
        },
        url=url,
        form=form,
        now=NOW,
    )
    verify_twilio(twilio, [s], 300)
    key = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    standard = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(NOW),
        "webhook-signature": sign_standard(key, "msg_1", NOW, BODY),
    }
    verify_standard(_signed(standard), [key.encode()], 300)


# --- the samples match the targets -------------------------------------------------------

PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
VALUES: dict[str, str | int] = {
    "id": "0" * 32,
    "n": "1" * 19,
    "ts": NOW,
    "ts_ms": NOW * 1000,
    "iso": "2023-11-14T22:13:20Z",
    "client_state": "state",
}


def _described() -> list[Provider | Fulfilment]:
    """Every target of main.py with the description it carries."""
    return described_targets("functions")


DESCRIBED = _described()


def _samples(described: Provider | Fulfilment) -> Samples:
    assert described.samples is not None, described.target
    return described.samples


@pytest.mark.parametrize("described", DESCRIBED, ids=lambda d: d.target)
def test_samples_sign_with_the_env_vars_their_target_reads(
    described: Provider | Fulfilment,
) -> None:
    samples = _samples(described)
    if samples.hook_env_events:  # signed with the provider's own hook env, which it names
        assert described.hook_envs
    # The samples live in the package that describes the provider, beside its verifier.
    assert samples.folder.parent.name == samples.name
    assert samples.folder.is_relative_to(Path(main.__file__).parent / "shared" / "providers")


@pytest.mark.parametrize("described", DESCRIBED, ids=lambda d: d.target)
def test_every_sample_event_has_a_file_and_every_file_an_event(
    described: Provider | Fulfilment,
) -> None:
    samples = _samples(described)
    with_body = [e for e in samples.events if e not in samples.bodyless]
    assert sorted(samples.path_of(e) for e in with_body) == samples.files()
    for event in with_body:
        text = samples.path_of(event).read_text()
        assert set(PLACEHOLDER.findall(text)) <= set(VALUES), event
        json.loads(fill(text, VALUES))


def test_fill_turns_whole_placeholders_into_json_values() -> None:
    assert fill('{"a": "{{ts}}", "b": "x{{ts}}"}', {"ts": 5}) == b'{"a": 5, "b": "x5"}'


def test_every_target_of_main_has_samples_except_the_processor() -> None:
    from runrun import discover

    names = {t.name for t in discover(corpus.MAIN_SOURCE).targets}
    assert names - set(main.runrun_hooks.samples()) == {"process_delivery"}


# --- against a real `runrun serve` --------------------------------------------------------

SECRETS = {
    "WEBHOOK_SECRET": "send-generic",
    "GITHUB_WEBHOOK_SECRET": "send-github,older-github",
    "STRIPE_WEBHOOK_SECRET": "whsec_sendstripe",
    "SLACK_SIGNING_SECRET": "send-slack",
    "SHOPIFY_WEBHOOK_SECRET": "send-shopify",
    "ZOOM_WEBHOOK_SECRET_TOKEN": "send-zoom",
    "META_APP_SECRET": "send-meta",
    "META_VERIFY_TOKEN": "send-verify-token",
    "X_CONSUMER_SECRET": "send-x",
    "GRAPH_CLIENT_STATE": "send-graph-state",
    "DROPBOX_APP_SECRET": "send-dropbox",
    "TWILIO_AUTH_TOKEN": "send-twilio",
    "STANDARD_WEBHOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "DIALOGFLOW_WEBHOOK_SECRET": "send-dialogflow",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("send")
    env = base_env(folder / "state", **SECRETS)
    started = runrun("send-server", corpus.MAIN_SOURCE, env, folder, "--workers", "1")
    try:
        started.wait_ready("/_runrun/health")
        yield started
    finally:
        started.stop()


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)


def _send(
    server: Server, target: str, *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    url = f"http://127.0.0.1:{server.port}/{target}"
    status = cli(["send", target, "--url", url, *args])
    return status, capsys.readouterr().out


CASES = [(d.target, event) for d in DESCRIBED for event in _samples(d).events]


@pytest.mark.parametrize(("target", "event"), CASES, ids=[f"{t}-{e}" for t, e in CASES])
@pytest.mark.usefixtures("secrets")
def test_every_sample_event_is_accepted(
    server: Server, target: str, event: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _send(server, target, "--event", event, capsys=capsys)
    assert status == 0, out + server.output()
    assert "# ok: the sender would count this as delivered" in out


@pytest.mark.usefixtures("secrets")
def test_repeat_shows_the_deduplication(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = _send(server, "stripe_webhook", "--repeat", "3", capsys=capsys)
    assert status == 0, out
    assert out.count("# attempt") == 3
    assert out.count("< Idempotent-Replayed: true") == 2
    assert len(set(re.findall(r'"delivery_id": "(evt_\w+)"', out))) == 1


@pytest.mark.parametrize("flag", ["--stale", "--bad-signature"])
@pytest.mark.usefixtures("secrets")
def test_invalid_deliveries_are_refused_and_exit_non_zero(
    server: Server, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _send(server, "slack_events", flag, capsys=capsys)
    assert status == 1
    assert "< 401 Unauthorized" in out


@pytest.mark.parametrize("target", [d.target for d in DESCRIBED if d.target != "graph_webhook"])
@pytest.mark.usefixtures("secrets")
def test_bad_signature_is_refused_by_every_target(
    server: Server, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _send(server, target, "--bad-signature", capsys=capsys)
    assert (status, "< 401 Unauthorized" in out) == (1, True), out


@pytest.mark.usefixtures("secrets")
def test_graph_with_a_wrong_client_state_is_refused(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _send(server, "graph_webhook", "--bad-signature", capsys=capsys)
    assert status == 1 and "< 202" not in out


@pytest.mark.usefixtures("secrets")
def test_own_body_file(server: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    body = tmp_path / "event.json"
    body.write_text('{"id": "evt_own_{{id}}", "type": "customer.created", "created": "{{ts}}"}')
    status, out = _send(server, "stripe_webhook", "--body", str(body), capsys=capsys)
    assert status == 0, out
    assert re.search(r'"delivery_id": "evt_own_[0-9a-f]{32}"', out)


@pytest.mark.usefixtures("secrets")
def test_secrets_and_signatures_are_never_printed(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = [
        _send(server, "generic_webhook", capsys=capsys)[1],
        _send(server, "meta_webhook", "--event", "subscribe", capsys=capsys)[1],
        _send(server, "github_webhook", capsys=capsys)[1],
    ]
    for out in outputs:
        assert "(hidden)" in out
        for value in SECRETS.values():
            assert value.split(",")[0] not in out
        assert not re.search(r"sha256=[0-9a-f]{64}", out)


def test_missing_secret_unknown_target_and_meaningless_flags_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "http://127.0.0.1:9/github_webhook"  # never reached
    assert cli(["send", "github_webhook", "--url", url]) == 2
    assert "GITHUB_WEBHOOK_SECRET is not set" in capsys.readouterr().err
    assert cli(["send", "nobody_webhook", "--url", url]) == 2
    assert "no target 'nobody_webhook'" in capsys.readouterr().err
    assert cli(["send", "github_webhook", "--event", "nope", "--url", url]) == 2
    assert "push, ping, issues" in capsys.readouterr().err


def test_stale_means_nothing_without_a_timestamp(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "x")
    assert cli(["send", "github_webhook", "--stale", "--url", "http://127.0.0.1:9/"]) == 2
    assert "signs no timestamp" in capsys.readouterr().err


def test_an_unreachable_target_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.support.runrun_scenarios.processes import free_port

    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "x")
    url = f"http://127.0.0.1:{free_port()}/github_webhook"
    assert cli(["send", "github_webhook", "--url", url, "--timeout", "5"]) == 1
    assert "cannot reach" in capsys.readouterr().err


def test_list_names_every_target_with_samples(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["send", "--list"]) == 0
    out = capsys.readouterr().out
    assert all(d.target in out for d in DESCRIBED)
