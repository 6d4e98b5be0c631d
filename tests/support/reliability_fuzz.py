"""Hypothesis strategies for the fuzzing of every target: random methods, paths, queries,
headers, content types and bodies (bytes, JSON, deep and huge JSON, invalid UTF-8), and
signature headers that are garbage, stale, or correct for the body that is sent (so that the
cases also reach parsing, handshakes, delivery ids, claims and the handoff)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st

from tests.support import providers_kit as kit
from tests.support.reliability_kit import SECRETS

FUZZ_MAX_BODY = 64 * 1024  # RUNRUN_MAX_BODY_BYTES during the fuzzing: huge bodies go past it
ENV = {**SECRETS, **kit.ENV}

# Mostly POST, so that most cases get past the method check and into the pipeline.
METHODS = ["POST"] * 12 + ["GET", "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"]
CONTENT_TYPES = [
    None,
    "application/json",
    "application/json; charset=utf-8",
    "application/cloudevents+json",
    "application/vnd.api+json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "application/json; charset=latin-1",
    "",
    ";;;",
    "application/",
]
HEADER_NAMES = [
    "X-Hub-Signature-256",
    "X-GitHub-Delivery",
    "X-GitHub-Event",
    "Stripe-Signature",
    "X-Slack-Signature",
    "X-Slack-Request-Timestamp",
    "Secret",
    "Authorization",
    "Idempotency-Key",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Webhook-Id",
    "X-Shopify-Topic",
    "x-zm-signature",
    "x-zm-request-timestamp",
    "x-twitter-webhooks-signature",
    "X-Dropbox-Signature",
    "X-Twilio-Signature",
    "I-Twilio-Idempotency-Token",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Cloud-Trace-Context",
    "Content-Encoding",
    "Transfer-Encoding",
    "ce-id",
    "ce-source",
    "ce-type",
    "ce-specversion",
    "Function-Execution-Id",
    "X-Dialogflow-Secret",
]
TAGS = ["order-status", "open-ticket", "no-such-tag", ""]
QUERY_NAMES = [
    "hub.mode",
    "hub.verify_token",
    "hub.challenge",
    "crc_token",
    "challenge",
    "validationToken",
    "bodySHA256",
]

# Header values as they arrive over the wire: latin-1 text without line breaks.
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"),
    max_size=80,
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=25,
)


@dataclass
class Case:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    signed: str = ""
    label: str = ""
    notes: list[str] = field(default_factory=list)


def _deep(depth: int, opener: bytes) -> bytes:
    closer = {b"[": b"]", b'{"a":': b"}"}[opener]
    return opener * depth + b"1" + closer * depth


@st.composite
def shaped_payload(draw: st.DrawFn, target: str) -> Any:
    """A payload in the provider's own shape, with random values where it matters."""
    anything = json_values
    key = draw(st.text(min_size=1, max_size=20))
    shapes: dict[str, Any] = {
        "generic_webhook": {"id": key, "type": draw(anything), "challenge": draw(anything)},
        "github_webhook": {"ref": draw(anything), "repository": draw(anything)},
        "stripe_webhook": {"id": key, "type": draw(anything), "data": draw(anything)},
        "slack_events": {
            "type": draw(st.sampled_from(["url_verification", "event_callback", key])),
            "challenge": draw(anything),
            "event_id": key,
            "event": draw(anything),
        },
        "shopify_webhook": {"id": draw(anything)},
        "zoom_webhook": {
            "event": draw(st.sampled_from(["endpoint.url_validation", "meeting.started", key])),
            "event_ts": draw(anything),
            "payload": draw(st.one_of(anything, st.fixed_dictionaries({"plainToken": anything}))),
        },
        "meta_webhook": {
            "object": draw(anything),
            "entry": draw(
                st.one_of(
                    anything,
                    st.lists(
                        st.fixed_dictionaries(
                            {"id": anything, "changes": anything, "messaging": anything}
                        ),
                        max_size=3,
                    ),
                )
            ),
        },
        "x_webhook": {
            "for_user_id": draw(anything),
            "tweet_create_events": draw(anything),
        },
        "graph_webhook": {
            "value": draw(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "id": anything,
                            "clientState": st.sampled_from([kit.GRAPH_STATE, "nope", None]),
                            "changeType": anything,
                        }
                    ),
                    max_size=3,
                )
            )
        },
        "dropbox_webhook": {"list_folder": draw(anything), "delta": draw(anything)},
        "twilio_webhook": {"MessageSid": key, "MessageStatus": draw(anything)},
        "standard_webhook": {"type": draw(anything), "data": draw(anything)},
        "dialogflow_webhook": {
            "detectIntentResponseId": key,
            "fulfillmentInfo": draw(
                st.one_of(anything, st.fixed_dictionaries({"tag": st.sampled_from(TAGS)}))
            ),
            "sessionInfo": draw(
                st.one_of(anything, st.fixed_dictionaries({"parameters": anything}))
            ),
            "text": draw(anything),
        },
    }
    return shapes.get(target, draw(anything))


@st.composite
def bodies(draw: st.DrawFn, target: str) -> tuple[bytes, str]:
    kind = draw(
        st.sampled_from(
            ["shaped", "shaped", "shaped", "json", "bytes", "utf8-invalid", "deep", "huge", "empty"]
        )
    )
    if kind == "shaped":
        payload = draw(shaped_payload(target))
        if target == "twilio_webhook" and draw(st.booleans()):
            flat = {
                str(k): json.dumps(v) if not isinstance(v, str) else v for k, v in payload.items()
            }
            return urlencode(flat).encode(), kind
        return json.dumps(payload).encode(), kind
    if kind == "json":
        return json.dumps(draw(json_values)).encode(), kind
    if kind == "bytes":
        return draw(st.binary(max_size=300)), kind
    if kind == "utf8-invalid":
        return b'{"id": "' + draw(st.binary(min_size=1, max_size=40)) + b'\xff\xfe"}', kind
    if kind == "deep":
        depth = draw(st.integers(min_value=10, max_value=20_000))
        return _deep(depth, draw(st.sampled_from([b"[", b'{"a":']))), kind
    if kind == "huge":
        size = draw(st.integers(min_value=FUZZ_MAX_BODY - 64, max_value=FUZZ_MAX_BODY * 4))
        return b'{"id": "huge", "pad": "' + b"x" * size + b'"}', kind
    return b"", kind


def _hex(secret: str | bytes, message: bytes, digest: Any = hashlib.sha256) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, digest).hexdigest()


def signature_headers(target: str, body: bytes, url: str, stamp: int) -> dict[str, str]:
    """Headers that make `body` authentic for `target` (as each provider documents it)."""
    if target == "generic_webhook":
        return {"Secret": SECRETS["WEBHOOK_SECRET"]}
    if target == "github_webhook":
        return {"X-Hub-Signature-256": "sha256=" + _hex(SECRETS["GITHUB_WEBHOOK_SECRET"], body)}
    if target == "stripe_webhook":
        signed = f"{stamp}.".encode() + body
        return {
            "Stripe-Signature": f"t={stamp},v1={_hex(SECRETS['STRIPE_WEBHOOK_SECRET'], signed)}"
        }
    if target == "slack_events":
        signed = f"v0:{stamp}:".encode() + body
        return {
            "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": "v0=" + _hex(SECRETS["SLACK_SIGNING_SECRET"], signed),
        }
    if target == "shopify_webhook":
        return kit.shopify_headers(body)
    if target == "dialogflow_webhook":
        return {"X-Dialogflow-Secret": SECRETS["DIALOGFLOW_WEBHOOK_SECRET"]}
    if target == "zoom_webhook":
        return kit.zoom_headers(body, stamp=stamp)
    if target == "meta_webhook":
        return kit.meta_headers(body)
    if target == "x_webhook":
        return kit.x_headers(body)
    if target == "dropbox_webhook":
        return kit.dropbox_headers(body)
    if target == "twilio_webhook":
        try:
            from urllib.parse import parse_qsl

            params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            params = {}
        return {"X-Twilio-Signature": kit.twilio_signature(url, params)}
    if target == "standard_webhook":
        return kit.standard_headers(body, msg_id=_hex("id", body)[:16], stamp=stamp)
    return {}


@st.composite
def envelopes(draw: st.DrawFn) -> bytes:
    """Pub/Sub push envelopes for process_delivery: real-looking, broken, or foreign."""
    data = draw(
        st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()))
    )
    attributes = draw(
        st.one_of(
            st.fixed_dictionaries(
                {
                    "source": st.sampled_from(["github_webhook", "generic_webhook", "x"]),
                    "delivery_id": st.text(max_size=20),
                    "event_type": st.sampled_from(["push", "event", ""]),
                    "content_type": st.sampled_from(["application/json", "text/plain"]),
                }
            ),
            st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=4),
            json_values,
        )
    )
    message: Any = {
        "data": draw(
            st.one_of(
                st.just(base64.b64encode(data).decode()),
                st.text(max_size=20),
                json_values,
            )
        ),
        "attributes": attributes,
        "messageId": draw(st.one_of(st.text(max_size=10), json_values)),
        "publishTime": draw(st.sampled_from(["2024-01-01T00:00:00Z", "yesterday", ""])),
    }
    envelope = draw(
        st.one_of(
            st.just({"message": message, "subscription": "projects/p/subscriptions/s"}),
            st.just({"message": message}),
            json_values.map(lambda v: {"message": v}),
            json_values,
        )
    )
    return json.dumps(envelope).encode()


@st.composite
def cases(draw: st.DrawFn, target: str) -> Case:
    method = draw(st.sampled_from(METHODS))
    path = draw(st.sampled_from(["", "/", "/sub/path", "/%2F..%2F", "/" + "a" * 300]))
    query = draw(
        st.dictionaries(
            st.sampled_from(QUERY_NAMES) | st.text(max_size=8), st.text(max_size=30), max_size=3
        )
    )
    if "hub.verify_token" in query and draw(st.booleans()):
        query["hub.verify_token"] = kit.META_VERIFY
    if target == "process_delivery" and draw(st.booleans()):
        body, kind = draw(envelopes()), "envelope"
    else:
        body, kind = draw(bodies(target))
    headers = draw(
        st.dictionaries(
            st.sampled_from(HEADER_NAMES) | header_text.filter(bool), header_text, max_size=6
        )
    )
    # Header names are tokens: drop generated names a real client could not send.
    headers = {
        k: v
        for k, v in headers.items()
        if k and all(33 <= ord(c) < 127 and c not in '()<>@,;:\\"/[]?={} ' for c in k)
    }
    right = (
        "application/x-www-form-urlencoded" if target == "twilio_webhook" else "application/json"
    )
    content_type = draw(st.one_of(st.just(right), st.sampled_from(CONTENT_TYPES)))
    if content_type is not None:
        headers["Content-Type"] = content_type
    headers.setdefault("X-GitHub-Delivery", draw(header_text))
    headers.setdefault("X-GitHub-Event", draw(st.sampled_from(["push", "ping", "issues"])))
    signed = draw(st.sampled_from(["", "valid", "valid", "stale"]))
    if signed:
        stamp = int(time.time()) - (10_000 if signed == "stale" else 0)
        url = f"http://localhost/{target}" + (path if path != "/" else "")
        headers.update(signature_headers(target, body, url, stamp))
    return Case(method, path, query, headers, body, signed, kind)
