"""What `runrun send` sends: for each provider, a signed request built the way the provider
builds it (headers, signature, ownership checks), and what the provider counts as success.

The signatures come from `_signing` (independent of `shared.verify`); the bodies from the
sample files in `samples/`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from . import _signing as sign

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Answer:
    """The target's answer: status, lower-cased headers, body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


def succeeded(answer: Answer) -> str | None:
    """Every provider counts any 2xx as delivered; the reason it did not, or None."""
    return None if 200 <= answer.status < 300 else f"HTTP {answer.status} is not a 2xx"


@dataclass(frozen=True)
class Draft:
    """One send, before its signature: the target's URL, the event and the filled body."""

    url: str
    event: str
    body: bytes
    secret: str  # the value signed with: the first of the env var's values, or a wrong one
    timestamp: int
    delivery_id: str  # fresh for each `runrun send`, the same for each of its --repeat
    bad_signature: bool = False


@dataclass(frozen=True)
class Outgoing:
    """A request ready to go, and how to tell whether the provider would be satisfied."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    check: Callable[[Answer], str | None] = succeeded
    hidden: frozenset[str] = frozenset()  # header names whose values are never printed
    hidden_values: tuple[str, ...] = ()  # values (tokens in the URL) never printed


@dataclass(frozen=True)
class Sender:
    """A provider as `runrun send` plays it."""

    provider: str  # the folder of its samples
    target: str  # the target name it is served under in main.py
    secret_env: str
    events: tuple[str, ...]  # the first one is the default
    build: Callable[[Draft], Outgoing]
    timestamped: bool = False  # whether --stale means anything
    # Events signed with another env var (Meta's subscription check uses the verify token).
    event_envs: Mapping[str, str] = field(default_factory=dict)
    # Events whose body is no sample file (GET handshakes).
    bodyless: frozenset[str] = frozenset()
    # Events that need no secret at all (unsigned echo checks).
    keyless: frozenset[str] = frozenset()


def _with_query(url: str, **params: str) -> str:
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + separator + urllib.parse.urlencode(params)


def _echoed(expected: str) -> Callable[[Answer], str | None]:
    def check(answer: Answer) -> str | None:
        if answer.status != 200:
            return f"HTTP {answer.status}: the check needs 200 with the challenge"
        text = answer.body.decode("utf-8", errors="replace")
        if text == expected:
            return None
        try:
            if json.loads(text).get("challenge") == expected:
                return None
        except (ValueError, AttributeError):
            pass
        return "the answer does not echo the challenge"

    return check


def _json_field(name: str, expected: str) -> Callable[[Answer], str | None]:
    def check(answer: Answer) -> str | None:
        if answer.status != 200:
            return f"HTTP {answer.status}: the check needs 200"
        try:
            value = json.loads(answer.body).get(name)
        except (ValueError, AttributeError):
            return "the answer is not a JSON object"
        return None if value == expected else f"the answer's {name} is not the expected one"

    return check


def _post(draft: Draft, headers: dict[str, str], hidden: tuple[str, ...] = ()) -> Outgoing:
    return Outgoing(
        "POST", draft.url, {"Content-Type": JSON, **headers}, draft.body, hidden=frozenset(hidden)
    )


def _uuid(draft: Draft) -> str:
    return str(uuid.UUID(hex=hashlib.sha256(draft.delivery_id.encode()).hexdigest()[:32]))


def _generic(draft: Draft) -> Outgoing:
    out = _post(draft, {"Authorization": f"Bearer {draft.secret}"}, ("Authorization",))
    if draft.event == "challenge":
        challenge = json.loads(draft.body).get("challenge", "")
        return replace(out, check=_echoed(str(challenge)))
    return out


def _github(draft: Draft) -> Outgoing:
    signature = sign.github(draft.secret.encode(), draft.body)
    headers = {
        "User-Agent": "GitHub-Hookshot/runrun-send",
        "X-GitHub-Event": draft.event,
        "X-GitHub-Delivery": _uuid(draft),
        "X-GitHub-Hook-ID": "12345678",
        "X-Hub-Signature-256": signature,
    }
    return _post(draft, headers, ("X-Hub-Signature-256",))


def _fulfilled(answer: Answer) -> str | None:
    """Dialogflow CX shows the end user an error unless the answer is a 2xx WebhookResponse."""
    problem = succeeded(answer)
    if problem is not None:
        return problem
    try:
        messages = json.loads(answer.body)["fulfillmentResponse"]["messages"]
    except (ValueError, KeyError, TypeError):
        return "the answer is not a WebhookResponse with fulfillmentResponse.messages"
    return None if isinstance(messages, list) else "fulfillmentResponse.messages is no list"


def _dialogflow(draft: Draft) -> Outgoing:
    # The agent's static-header auth, under the target's default header name.
    headers = {"User-Agent": "Google-Dialogflow", "X-Dialogflow-Secret": draft.secret}
    out = _post(draft, headers, ("X-Dialogflow-Secret",))
    return replace(out, check=_fulfilled)


def _stripe(draft: Draft) -> Outgoing:
    signature = sign.stripe(draft.secret.encode(), draft.timestamp, draft.body)
    headers = {"User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}
    return _post(draft, {**headers, "Stripe-Signature": signature}, ("Stripe-Signature",))


def _slack(draft: Draft) -> Outgoing:
    headers = {
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "X-Slack-Request-Timestamp": str(draft.timestamp),
        "X-Slack-Signature": sign.slack(draft.secret.encode(), draft.timestamp, draft.body),
    }
    out = _post(draft, headers, ("X-Slack-Signature",))
    if draft.event == "url_verification":
        return replace(out, check=_echoed(str(json.loads(draft.body).get("challenge", ""))))
    return out


def _shopify(draft: Draft) -> Outgoing:
    headers = {
        "X-Shopify-Topic": draft.event,
        "X-Shopify-Hmac-Sha256": sign.shopify(draft.secret.encode(), draft.body),
        "X-Shopify-Shop-Domain": "example.myshopify.com",
        "X-Shopify-API-Version": "2024-07",
        "X-Shopify-Webhook-Id": _uuid(draft),
        "X-Shopify-Event-Id": _uuid(replace(draft, delivery_id="event:" + draft.delivery_id)),
    }
    return _post(draft, headers, ("X-Shopify-Hmac-Sha256",))


def _zoom(draft: Draft) -> Outgoing:
    headers = {
        "User-Agent": "Zoom Marketplace/1.0a",
        "x-zm-request-timestamp": str(draft.timestamp),
        "x-zm-signature": sign.zoom(draft.secret.encode(), draft.timestamp, draft.body),
    }
    out = _post(draft, headers, ("x-zm-signature",))
    if draft.event == "endpoint.url_validation":
        plain = str(json.loads(draft.body).get("payload", {}).get("plainToken", ""))
        encrypted = sign.zoom_encrypted_token(draft.secret.encode(), plain)
        expected = {"plainToken": plain, "encryptedToken": encrypted}

        def check(answer: Answer) -> str | None:
            if answer.status != 200:
                return f"HTTP {answer.status}: the validation needs 200"
            try:
                got = json.loads(answer.body)
            except ValueError:
                return "the answer is not JSON"
            return None if got == expected else "plainToken/encryptedToken do not match"

        return replace(out, check=check)
    return out


def _meta(draft: Draft) -> Outgoing:
    if draft.event == "subscribe":  # the GET check, with the verify token as secret
        challenge = draft.delivery_id[:10]
        url = _with_query(
            draft.url,
            **{"hub.mode": "subscribe", "hub.verify_token": draft.secret},
            **{"hub.challenge": challenge},
        )
        return Outgoing("GET", url, {}, b"", _echoed(challenge), hidden_values=(draft.secret,))
    signature = sign.github(draft.secret.encode(), draft.body)  # Meta signs as GitHub does
    headers = {"User-Agent": "facebookexternalua", "X-Hub-Signature-256": signature}
    return _post(draft, headers, ("X-Hub-Signature-256",))


def _x(draft: Draft) -> Outgoing:
    if draft.event == "crc":
        token = draft.delivery_id
        expected = sign.x_crc_response(draft.secret.encode(), token)
        url = _with_query(draft.url, crc_token=token)
        return Outgoing("GET", url, {}, b"", _json_field("response_token", expected))
    signature = sign.x(draft.secret.encode(), draft.body)
    name = "x-twitter-webhooks-signature"
    return _post(draft, {name: signature}, (name,))


def _graph(draft: Draft) -> Outgoing:
    if draft.event == "validation":
        token = f"Validation: Testing client application reachability {draft.delivery_id}"
        url = _with_query(draft.url, validationToken=token)
        return Outgoing("POST", url, {"Content-Type": "text/plain"}, b"", _echoed(token))
    return _post(draft, {})  # clientState inside the body is the secret


def _dropbox(draft: Draft) -> Outgoing:
    if draft.event == "challenge":
        challenge = draft.delivery_id
        url = _with_query(draft.url, challenge=challenge)
        return Outgoing("GET", url, {}, b"", _echoed(challenge))
    signature = sign.dropbox(draft.secret.encode(), draft.body)
    return _post(draft, {"X-Dropbox-Signature": signature}, ("X-Dropbox-Signature",))


def _twilio(draft: Draft) -> Outgoing:
    # Samples (and --body files) holding a JSON object are sent as the form Twilio posts.
    text = draft.body.decode("utf-8")
    if text.lstrip().startswith("{"):
        fields = [(str(k), str(v)) for k, v in json.loads(text).items()]
    else:
        fields = urllib.parse.parse_qsl(text.strip(), keep_blank_values=True)
    body = urllib.parse.urlencode(fields).encode()
    headers = {
        "Content-Type": FORM,
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": _uuid(draft),
        "X-Twilio-Signature": sign.twilio(draft.secret.encode(), draft.url, fields),
    }
    return Outgoing("POST", draft.url, headers, body, hidden=frozenset({"X-Twilio-Signature"}))


def _standard(draft: Draft) -> Outgoing:
    secret = draft.secret
    if draft.bad_signature:  # still a well-formed whsec_ secret, just not the right one
        wrong = hashlib.sha256(secret.encode()).digest()
        secret = "whsec_" + base64.b64encode(wrong).decode()
    message_id = f"msg_{draft.delivery_id}"
    headers = {
        "webhook-id": message_id,
        "webhook-timestamp": str(draft.timestamp),
        "webhook-signature": sign.standard(secret, message_id, draft.timestamp, draft.body),
    }
    return _post(draft, headers, ("webhook-signature",))


SENDERS: tuple[Sender, ...] = (
    Sender(
        "generic", "generic_webhook", "WEBHOOK_SECRET", ("order.created", "challenge"), _generic
    ),
    Sender(
        "github", "github_webhook", "GITHUB_WEBHOOK_SECRET", ("push", "ping", "issues"), _github
    ),
    Sender(
        "stripe",
        "stripe_webhook",
        "STRIPE_WEBHOOK_SECRET",
        ("invoice.paid", "payment_intent.succeeded", "checkout.session.completed"),
        _stripe,
        timestamped=True,
    ),
    Sender(
        "slack",
        "slack_events",
        "SLACK_SIGNING_SECRET",
        ("message", "app_mention", "url_verification"),
        _slack,
        timestamped=True,
    ),
    Sender(
        "shopify",
        "shopify_webhook",
        "SHOPIFY_WEBHOOK_SECRET",
        ("orders/create", "products/update"),
        _shopify,
    ),
    Sender(
        "zoom",
        "zoom_webhook",
        "ZOOM_WEBHOOK_SECRET_TOKEN",
        ("meeting.started", "endpoint.url_validation"),
        _zoom,
        timestamped=True,
    ),
    Sender(
        "meta",
        "meta_webhook",
        "META_APP_SECRET",
        ("messages", "subscribe"),
        _meta,
        event_envs={"subscribe": "META_VERIFY_TOKEN"},
        bodyless=frozenset({"subscribe"}),
    ),
    Sender(
        "x",
        "x_webhook",
        "X_CONSUMER_SECRET",
        ("tweet_create_events", "favorite_events", "crc"),
        _x,
        bodyless=frozenset({"crc"}),
    ),
    Sender(
        "graph",
        "graph_webhook",
        "GRAPH_CLIENT_STATE",
        ("created", "validation"),
        _graph,
        bodyless=frozenset({"validation"}),
        keyless=frozenset({"validation"}),
    ),
    Sender(
        "dropbox",
        "dropbox_webhook",
        "DROPBOX_APP_SECRET",
        ("list_folder", "challenge"),
        _dropbox,
        bodyless=frozenset({"challenge"}),
        keyless=frozenset({"challenge"}),
    ),
    Sender("twilio", "twilio_webhook", "TWILIO_AUTH_TOKEN", ("message", "call_status"), _twilio),
    Sender(
        "dialogflow",
        "dialogflow_webhook",
        "DIALOGFLOW_WEBHOOK_SECRET",
        ("order-status", "open-ticket"),
        _dialogflow,
    ),
    Sender(
        "standard",
        "standard_webhook",
        "STANDARD_WEBHOOK_SECRET",
        ("user.created", "invoice.paid"),
        _standard,
        timestamped=True,
    ),
)


def sender_for(target: str, provider: str | None = None) -> Sender | None:
    """The sender of `provider` (a folder name), else the one whose target is `target`."""
    for sender in SENDERS:
        if (sender.provider == provider) if provider else (sender.target == target):
            return sender
    return None
