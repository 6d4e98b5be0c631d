"""How each project in this folder is deployed and what is sent to it (see README.md).

An entry point's signature type is what `gcloud functions deploy NAME --trigger-...` gives
it; functions-framework is told it with `--signature-type` (and `--asgi` for an async one),
runrun with `--signature-type NAME=TYPE` for an undecorated one, which also names it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.runrun_scenarios.corpus import Case

HERE = Path(__file__).resolve().parent
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SLACK_SECRET = "project-slack-secret"


@dataclass(frozen=True)
class EntryPoint:
    name: str
    signature_type: str = "http"
    decorated: bool = True
    asgi: bool = False

    def ff_args(self) -> list[str]:
        return ["--signature-type", self.signature_type, *(["--asgi"] if self.asgi else [])]


@dataclass(frozen=True)
class Project:
    folder: str
    entry_points: tuple[EntryPoint, ...]
    helpers: tuple[str, ...]  # never a route, never a refusal
    cases: tuple[Case, ...]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return HERE / self.folder

    def runrun_args(self) -> list[str]:
        """What names the undecorated entry points, as a deploy names each one."""
        args: list[str] = []
        for entry in self.entry_points:
            if not entry.decorated:
                args += ["--signature-type", f"{entry.name}={entry.signature_type}"]
        return args


_ids = iter(range(1, 1_000_000))


def _case(target: str, method: str, label: str, **kw: object) -> Case:
    headers = dict(kw.pop("headers", {}))  # type: ignore[call-overload]
    headers["Function-Execution-Id"] = f"project-{next(_ids)}"
    return Case(target, method, headers=tuple(headers.items()), label=label, **kw)  # type: ignore[arg-type]


def _body(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _legacy(event_type: str, resource: str, data: dict[str, object], event_id: str) -> bytes:
    return _body(
        {
            "eventId": event_id,
            "timestamp": "2026-01-01T00:00:00.000Z",
            "eventType": event_type,
            "resource": resource,
            "data": data,
        }
    )


def _cloudevent(kind: str, source: str, subject: str, event_id: str) -> dict[str, str]:
    return {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-source": source,
        "ce-type": kind,
        "ce-subject": subject,
        "ce-time": "2026-01-01T00:00:00Z",
        "Content-Type": "application/json",
    }


def _slack(text: str, secret: str = SLACK_SECRET) -> tuple[dict[str, str], bytes]:
    body = f"command=%2Fsearch&text={text}".encode()
    stamp = "1767225600"
    signature = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    headers = {
        **FORM,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + signature.hexdigest(),
    }
    return headers, body


def _greetings() -> Project:
    pubsub = {"data": base64.b64encode(b"Eve").decode(), "attributes": {"a": "1"}}
    topic = "projects/p/topics/greetings"
    pubsub_ce = {"message": {**pubsub, "messageId": "m-1"}, "subscription": "s"}
    storage = {"bucket": "b", "name": "notes/hi.txt", "contentType": "text/plain"}
    cases = (
        _case("hello_get", "GET", "root"),
        _case("hello_get", "GET", "robots", path="/robots.txt"),
        _case("hello_http", "POST", "json", headers=JSON, body=_body({"name": "Ada"})),
        _case("hello_http", "GET", "query", query="name=Bob"),
        _case("hello_http", "GET", "deep path", path="/a/b"),
        _case("hello_content", "POST", "json", headers=JSON, body=_body({"name": "Cy"})),
        _case("hello_content", "POST", "text", headers={"Content-Type": "text/plain"}, body=b"Di"),
        _case("hello_content", "POST", "form", headers=FORM, body=b"name=Ed"),
        _case("hello_content", "POST", "unknown type", headers={"Content-Type": "x/y"}, body=b"?"),
        _case("hello_method", "GET", "get"),
        _case("hello_method", "PUT", "put", body=b"x"),
        _case("hello_method", "DELETE", "delete"),
        _case("hello_error", "GET", "crash"),
        _case(
            "hello_pubsub",
            "POST",
            "legacy event",
            headers=JSON,
            body=_legacy("google.pubsub.topic.publish", topic, pubsub, "e-1"),
        ),
        _case(
            "hello_pubsub",
            "POST",
            "cloudevent",
            headers=_cloudevent(
                "google.cloud.pubsub.topic.v1.messagePublished",
                f"//pubsub.googleapis.com/{topic}",
                "",
                "ce-1",
            ),
            body=_body(pubsub_ce),
        ),
        _case("hello_pubsub", "GET", "GET"),
        _case(
            "hello_gcs",
            "POST",
            "legacy event",
            headers=JSON,
            body=_legacy("google.storage.object.finalize", "projects/_/buckets/b", storage, "e-2"),
        ),
    )
    http = ("hello_get", "hello_http", "hello_content", "hello_method", "hello_error")
    return Project(
        "greetings",
        (
            *(EntryPoint(name, decorated=False) for name in http),
            EntryPoint("hello_pubsub", "event", decorated=False),
            EntryPoint("hello_gcs", "event", decorated=False),
        ),
        ("greeting_for", "log_event"),
        cases,
    )


def _slack_search() -> Project:
    good, body = _slack("python")
    unknown, unknown_body = _slack("cobol")
    bad, bad_body = _slack("python", secret="wrong")
    cases = (
        _case("kg_search", "GET", "GET"),
        _case("kg_search", "POST", "found", headers=good, body=body),
        _case("kg_search", "POST", "not found", headers=unknown, body=unknown_body),
        _case("kg_search", "POST", "bad signature", headers=bad, body=bad_body),
    )
    helpers = ("verify_signature", "format_slack_message", "make_search_request")
    return Project(
        "slack_search",
        (EntryPoint("kg_search"),),
        helpers,
        cases,
        {"SLACK_SECRET": SLACK_SECRET},
    )


def _entry_points() -> Project:
    def event(name: str, value: str) -> Case:
        data = {"filename": f"{name}.json", "value": value}
        body = _legacy("providers/cloud.pubsub/eventTypes/topic.publish", "t", data, value)
        return _case(name, "POST", f"event {value}", headers=JSON, body=body)

    cases = (
        event("myFunctionFoo", "v1"),
        event("myFunctionBar", "v2"),
        _case("myFunctionBar", "POST", "no data", headers=JSON, body=b"{}"),
        _case("with_import", "GET", "import", query="who=module"),
    )
    return Project(
        "entry_points",
        (
            EntryPoint("myFunctionFoo", "event", decorated=False),
            EntryPoint("myFunctionBar", "event", decorated=False),
            EntryPoint("with_import"),
        ),
        ("fun", "get_file_path", "notAFunction", "greet"),
        cases,
    )


def _typed_events() -> Project:
    source = "//storage.googleapis.com/projects/_/buckets/b"
    finalized = _cloudevent(
        "google.cloud.storage.object.v1.finalized", source, "objects/x.csv", "ce-9"
    )
    structured = {
        "specversion": "1.0",
        "id": "ce-10",
        "source": source,
        "type": "google.cloud.storage.object.v1.finalized",
        "data": {"bucket": "b", "name": "y.csv"},
    }
    cases = (
        _case("reverse", "POST", "typed", headers=JSON, body=_body({"text": "ab  c"})),
        _case("reverse", "POST", "missing field", headers=JSON, body=_body({"t": 1})),
        _case("reverse", "POST", "not json", headers=JSON, body=b"{"),
        _case(
            "on_finalized", "POST", "binary", headers=finalized, body=b'{"bucket":"b","name":"x"}'
        ),
        _case(
            "on_finalized",
            "POST",
            "structured",
            headers={"Content-Type": "application/cloudevents+json"},
            body=_body(structured),
        ),
        _case("status", "GET", "deep", path="/a/b", query="x=1"),
    )
    return Project(
        "typed_events",
        (
            EntryPoint("reverse", "typed"),
            EntryPoint("on_finalized", "cloudevent"),
            EntryPoint("status"),
        ),
        ("normalise", "describe"),
        cases,
    )


def _async_paths() -> Project:
    message = _cloudevent(
        "google.cloud.pubsub.topic.v1.messagePublished",
        "//pubsub.googleapis.com/projects/p/topics/t",
        "",
        "ce-11",
    )
    pushed = {"message": {"data": "aGk=", "messageId": "m-2"}, "subscription": "s"}
    cases = (
        _case("router", "GET", "index"),
        _case("router", "GET", "items", path="/items", query="page=2"),
        _case("router", "GET", "item", path="/items/42"),
        _case("router", "GET", "unknown", path="/nope"),
        _case("router", "POST", "post", path="/items", headers=JSON, body=b"{}"),
        _case("on_message", "POST", "binary", headers=message, body=_body(pushed)),
        _case("on_message", "GET", "GET"),
    )
    return Project(
        "async_paths",
        (
            EntryPoint("router", asgi=True),
            EntryPoint("on_message", "cloudevent", asgi=True),
        ),
        ("lookup", "route_table"),
        cases,
    )


PROJECTS = (_greetings(), _slack_search(), _entry_points(), _typed_events(), _async_paths())
