"""The parity corpus: requests for every target, sent once to functions-framework's app for
the target (at `/`) and once to runrun's app (at `/<target>`), answers compared.

`echo_cases()` exercises the scenario targets of echo_main.py (return values, errors,
CloudEvent modes); `main_cases()` exercises every target of the project's main.py (good
and bad signatures, duplicates, handshakes, Pub/Sub deliveries). Targets added to main.py
later get the generic cases of their signature type automatically.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.helpers import hex_hmac

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
ECHO_SOURCE = HERE / "echo_main.py"
MAIN_SOURCE = ROOT / "main.py"

SECRETS = {
    "WEBHOOK_SECRET": "parity-generic-secret-1",
    "GITHUB_WEBHOOK_SECRET": "parity-github-secret-2",
    "STRIPE_WEBHOOK_SECRET": "whsec_paritystripesecret3",
    "SLACK_SIGNING_SECRET": "parity-slack-secret-4",
}
JSON_TYPE = {"Content-Type": "application/json"}
# echo_main.py's undecorated non-HTTP functions: runrun reads these from the pyproject.toml
# beside it, functions-framework is given them with `--signature-type`.
ECHO_SIGNATURE_TYPES = {"background": "event", "plain_events": "cloudevent"}
IGNORED_HEADERS = {"date", "server"}
# A generated Function-Execution-Id: 12 letters and digits.
GENERATED_ID = re.compile(rb'"execution_id":"[0-9A-Za-z]{12}"')


@dataclass(frozen=True)
class Case:
    """One request, addressed relative to the target's root."""

    target: str
    method: str
    path: str = "/"
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    bare: bool = False  # send `/<target>` rather than `/<target>/` for the root
    label: str = ""

    def ff_path(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    def runrun_path(self) -> str:
        path = "" if self.bare and self.path == "/" else self.path
        return f"/{self.target}{path}" + (f"?{self.query}" if self.query else "")

    def __str__(self) -> str:
        return f"{self.target}:{self.label or self.method + ' ' + self.ff_path()}"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def answer(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> Answer:
    """What must match: status, body, headers (names case-insensitive) but Date and Server."""
    kept = sorted(
        (k.lower(), _allow(v) if k.lower() == "allow" else v)
        for k, v in headers
        if k.lower() not in IGNORED_HEADERS
    )
    return Answer(status, tuple(kept), GENERATED_ID.sub(b'"execution_id":"<generated>"', body))


def _allow(value: str) -> str:
    # Werkzeug lists the allowed methods from a set: their order follows the process's
    # string hash seed, so two processes (any two servers) may list them differently.
    return ", ".join(sorted(method.strip() for method in value.split(",")))


_counter = iter(range(1, 1_000_000))


def _case(target: str, method: str, headers: Mapping[str, str] | None = None, **kw: object) -> Case:
    given = dict(headers or {})
    if not kw.pop("generated_id", False):
        given.setdefault("Function-Execution-Id", f"parity-{next(_counter)}")
    return Case(target, method, headers=tuple(given.items()), **kw)  # type: ignore[arg-type]


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# --- CloudEvents -------------------------------------------------------------------------


def message_data(source: str, delivery_id: str, data: bytes, event_type: str = "push") -> dict:
    """A messagePublished event's data, as Pub/Sub push builds it from a delivery."""
    return {
        "message": {
            "data": base64.b64encode(data).decode(),
            "attributes": {
                "source": source,
                "delivery_id": delivery_id,
                "event_type": event_type,
                "content_type": "application/json",
                "received_at": "2026-01-01T00:00:00.000Z",
            },
            "messageId": f"m-{delivery_id}",
            "publishTime": "2026-01-01T00:00:00.000Z",
        },
        "subscription": "projects/parity/subscriptions/deliveries",
    }


def cloudevent_cases(target: str, data: dict, event_id: str) -> list[Case]:
    """The same data as a binary-mode, a structured-mode and a raw Pub/Sub push request."""
    binary = {
        "ce-specversion": "1.0",
        "ce-id": f"{event_id}-binary",
        "ce-source": "//pubsub.googleapis.com/projects/parity/topics/deliveries",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished",
        "ce-time": "2026-01-01T00:00:00Z",
        "Content-Type": "application/json",
    }
    structured = {
        "specversion": "1.0",
        "id": f"{event_id}-structured",
        "source": "//pubsub.googleapis.com/projects/parity/topics/deliveries",
        "type": "google.cloud.pubsub.topic.v1.messagePublished",
        "time": "2026-01-01T00:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    }
    envelope = dict(data)
    envelope["message"] = {**data["message"], "messageId": f"{event_id}-push"}
    return [
        _case(target, "POST", binary, body=_json(data), label="binary cloudevent"),
        _case(
            target,
            "POST",
            {"Content-Type": "application/cloudevents+json"},
            body=_json(structured),
            label="structured cloudevent",
        ),
        _case(
            target,
            "POST",
            {"Content-Type": "application/json"},
            path="/projects/parity/topics/deliveries",
            body=_json(envelope),
            label="raw pubsub push",
        ),
    ]


def cloudevent_generic_cases(target: str) -> list[Case]:
    """What every CloudEvent target answers the same way: wrong method, unreadable body."""
    return [
        _case(target, "GET", label="GET"),
        _case(target, "PUT", label="PUT"),
        _case(target, "OPTIONS", label="OPTIONS"),
        _case(target, "POST", {"Content-Type": "text/plain"}, body=b"not an event", label="junk"),
    ]


# --- HTTP -------------------------------------------------------------------------------


def http_generic_cases(target: str) -> list[Case]:
    """Requests every HTTP target must answer the same way under both."""
    return [
        _case(target, "GET", label="GET root"),
        _case(target, "GET", bare=True, label="GET bare root"),
        _case(target, "HEAD", label="HEAD"),
        _case(target, "OPTIONS", label="OPTIONS"),
        _case(target, "DELETE", path="/x", label="DELETE sub-path"),
        _case(target, "GET", path="/robots.txt", label="robots.txt"),
        _case(target, "GET", path="/favicon.ico", label="favicon"),
        _case(target, "POST", {"Content-Type": "text/plain"}, body=b"hello", label="text body"),
        _case(target, "POST", JSON_TYPE, body=b"{not json", label="bad json"),
    ]


def echo_cases() -> list[Case]:
    cases = http_generic_cases("echo") + [
        _case("echo", "GET", path="/a/b", query="x=1&x=2&y=%2F", label="sub-path and query"),
        _case("echo", "GET", path="/caf%C3%A9/%20", query="q=%20", label="escaped path"),
        _case("echo", "POST", {"Content-Type": "application/json"}, path="/in", body=b'{"a":1}'),
        _case("echo", "PUT", {"Content-Type": "text/csv"}, body=b"a,b\n1,2\n", label="PUT csv"),
        _case("echo", "GET", generated_id=True, label="generated execution id"),
        _case("echo", "GET", bare=True, query="z=1", label="bare root with query"),
    ]
    kinds = ["str", "bytes", "dict", "list", "status", "headers", "response", "abort", "teapot"]
    kinds += ["none", "raise"]
    cases += [_case("returns", "GET", query=f"kind={k}", label=k) for k in kinds]
    cases += http_generic_cases("undecorated")
    message = {"data": "aGk=", "attributes": {"k": "v"}, "publishTime": "2026-01-01T00:00:00Z"}
    data = {"message": message, "subscription": "projects/p/subscriptions/s"}
    cases += cloudevent_cases("events", data, "scenario-event")
    cases += cloudevent_generic_cases("events")
    cases += header_order_cases("headers")
    cases += legacy_event_cases("background") + cloudevent_generic_cases("background")
    cases += cloudevent_cases("background", data, "bg-event")
    cases += legacy_event_cases("plain_events") + cloudevent_generic_cases("plain_events")
    cases += cloudevent_cases("plain_events", data, "plain-event")
    cases += typed_cases("greet") + typed_cases("greet_explicit")
    failing = {"ce-specversion": "1.0", "ce-id": "f-1", "ce-source": "s"}
    failing["ce-type"] = "scenario.fail"
    cases.append(_case("events", "POST", failing, body=b"{}", label="handler raises"))
    return cases


def typed_cases(target: str) -> list[Case]:
    """A `typed` target: JSON in, its input type built by `from_dict`, its answer by `to_dict`."""
    names = ["ada", "nobody", "plain", "object"]
    return [
        *[
            _case(target, "POST", JSON_TYPE, body=_json({"name": n}), label=f"typed {n}")
            for n in names
        ],
        _case(target, "POST", JSON_TYPE, path="/sub", body=b'{"name":"sub"}', label="sub-path"),
        _case(target, "POST", JSON_TYPE, body=b"{}", label="from_dict raises"),
        _case(target, "POST", JSON_TYPE, body=b"{not json", label="bad json"),
        _case(target, "POST", {"Content-Type": "text/plain"}, body=b"x", label="not json"),
        *cloudevent_generic_cases(target)[:2],
    ]


def header_order_cases(target: str) -> list[Case]:
    """Headers in an order no server would pick by itself; repeated names too."""
    mixed = (("Zeta", "1"), ("Alpha", "2"), ("Content-Type", "text/plain"), ("Mid", "3"))
    mixed += (("X-Repeat", "a"), ("Beta", "4"), ("X-Repeat", "b"))
    return [
        Case(
            target,
            "POST",
            headers=(*mixed, ("Function-Execution-Id", f"order-{n}")),
            body=b"x",
            label=f"header order {n}",
        )
        for n in range(2)
    ]


def legacy_event_cases(target: str) -> list[Case]:
    """First-generation (legacy) events: Pub/Sub and Storage, nested and flat context."""
    pubsub = {
        "context": {
            "eventId": f"{target}-legacy-pubsub",
            "timestamp": "2026-01-01T00:00:00.000Z",
            "eventType": "google.pubsub.topic.publish",
            "resource": {
                "service": "pubsub.googleapis.com",
                "name": "projects/parity/topics/deliveries",
                "type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
            },
        },
        "data": {
            "@type": "type.googleapis.com/google.pubsub.v1.PubsubMessage",
            "attributes": {"k": "v"},
            "data": "aGVsbG8=",
        },
    }
    storage = {
        "eventId": f"{target}-legacy-storage",
        "timestamp": "2026-01-01T00:00:00.000Z",
        "eventType": "google.storage.object.finalize",
        "resource": "projects/_/buckets/parity-bucket/objects/folder/file.txt",
        "data": {"bucket": "parity-bucket", "name": "folder/file.txt", "size": "3"},
    }
    return [
        _case(target, "POST", JSON_TYPE, body=_json(pubsub), label="legacy pubsub event"),
        _case(target, "POST", JSON_TYPE, body=_json(storage), label="legacy storage event"),
    ]


# --- The project's main.py ---------------------------------------------------------------


def sign(target: str, body: bytes, secret_env: str, wrong: bool = False) -> dict[str, str]:
    """The headers each provider would send with `body` (a wrong secret when `wrong`)."""
    secret = SECRETS[secret_env] + ("-wrong" if wrong else "")
    stamp = int(time.time())
    if target == "github_webhook":
        return {"X-Hub-Signature-256": "sha256=" + hex_hmac(secret, body)}
    if target == "stripe_webhook":
        signature = hex_hmac(secret, f"{stamp}.".encode() + body)
        return {"Stripe-Signature": f"t={stamp},v1={signature}"}
    if target == "slack_events":
        signature = "v0=" + hex_hmac(secret, f"v0:{stamp}:".encode() + body)
        return {"X-Slack-Request-Timestamp": str(stamp), "X-Slack-Signature": signature}
    return {"Secret": secret}


def _event_body(target: str, delivery_id: str) -> tuple[dict[str, str], bytes]:
    """Headers and body of one delivery, as the target's provider sends it."""
    if target == "github_webhook":
        body = {"ref": "refs/heads/feature", "repository": {"default_branch": "main"}}
        return {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery_id}, _json(body)
    if target == "slack_events":
        return {}, _json({"event_id": delivery_id, "event": {"type": "message"}})
    return {"Idempotency-Key": delivery_id}, _json({"id": delivery_id, "type": "parity.event"})


def webhook_cases(target: str, secret_env: str) -> list[Case]:
    """Good and bad signatures, a duplicate, a sub-path with a query string."""
    json_type = {"Content-Type": "application/json"}
    extra, body = _event_body(target, f"{target}-delivery-1")
    good = {**json_type, **extra, **sign(target, body, secret_env)}
    bad = {**json_type, **extra, **sign(target, body, secret_env, wrong=True)}
    extra2, body2 = _event_body(target, f"{target}-delivery-2")
    good2 = {**json_type, **extra2, **sign(target, body2, secret_env)}
    return [
        _case(target, "POST", good, body=body, label="good signature"),
        _case(target, "POST", good, body=body, label="duplicate"),
        _case(target, "POST", bad, body=body, label="bad signature"),
        _case(target, "POST", json_type, body=body, label="unsigned"),
        _case(target, "POST", good2, body=body2, path="/hooks/x", query="a=1", label="sub-path"),
        _case(target, "PUT", good, body=body, label="PUT signed"),
    ]


def handshake_cases() -> list[Case]:
    ping = _json({"zen": "Keep it logically awesome.", "hook_id": 1})
    github = {**JSON_TYPE, "X-GitHub-Event": "ping", "X-GitHub-Delivery": "p-1"}
    challenge = _json({"type": "url_verification", "challenge": "parity-challenge", "token": "t"})
    return [
        _case(
            "github_webhook",
            "POST",
            {**github, **sign("github_webhook", ping, "GITHUB_WEBHOOK_SECRET")},
            body=ping,
            label="github ping",
        ),
        _case(
            "slack_events",
            "POST",
            {
                "Content-Type": "application/json",
                **sign("slack_events", challenge, "SLACK_SIGNING_SECRET"),
            },
            body=challenge,
            label="slack url_verification",
        ),
    ]


def processor_cases(target: str) -> list[Case]:
    """Deliveries pushed to the processor: readable, duplicate, unreadable, failing."""
    good = message_data("generic_webhook", "proc-1", _json({"id": "proc-1", "type": "t"}))
    cases = cloudevent_cases(target, good, "proc-1")  # the same delivery thrice: processed once
    not_a_delivery = {"message": {"data": "", "attributes": {}}, "subscription": "s"}
    cases += cloudevent_cases(target, not_a_delivery, "proc-unreadable")[:1]
    # Data that is not JSON can never be processed: the message is dropped (logged), acked.
    failing = message_data("generic_webhook", "proc-2", b"\xffnot json")
    cases += cloudevent_cases(target, failing, "proc-fail")[:1]
    return cases + cloudevent_generic_cases(target)


def main_cases(targets: Iterable[tuple[str, str, str | None]]) -> list[Case]:
    """Cases for every (name, signature type, secret env) target of the project's main.py."""
    cases: list[Case] = []
    for name, signature_type, secret_env in targets:
        if signature_type == "http":
            cases += http_generic_cases(name)
            if secret_env in SECRETS:
                cases += webhook_cases(name, secret_env)
        elif name == "process_delivery":
            cases += processor_cases(name)
        else:
            cases += cloudevent_generic_cases(name)
    return cases + handshake_cases()
