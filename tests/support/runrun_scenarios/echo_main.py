"""Scenario targets that show what a handler sees and how its return values are answered."""

import json
import os
import time
from pathlib import Path

import flask
import functions_framework

# Each execution of this module leaves one line here: runrun must import it once per tree.
if os.environ.get("SCENARIO_IMPORT_LOG"):
    with open(os.environ["SCENARIO_IMPORT_LOG"], "a") as log:
        log.write(f"{os.getpid()}\n")


class TeapotError(Exception):
    pass


@functions_framework.errorhandler(TeapotError)
def _teapot(error: TeapotError) -> tuple[str, int, dict[str, str]]:
    return f"teapot: {error}", 418, {"X-Teapot": "yes"}


@functions_framework.http
def echo(request: flask.Request) -> flask.Response:
    seen = {
        "method": request.method,
        "path": request.path,
        "full_path": request.full_path,
        "args": request.args.to_dict(flat=False),
        "content_type": request.content_type,
        "body": request.get_data(as_text=True),
        "execution_id": request.headers.get("Function-Execution-Id", ""),
        "proxy_header": request.headers.get("Proxy"),
        # The server's environment is not the request's: gunicorn keeps it out of the environ.
        "process_env_in_environ": sorted(
            name for name in ("PATH", "SCENARIO_SECRET", "HTTP_PROXY") if name in request.environ
        ),
        "endpoint": request.endpoint,
        "view_args": request.view_args,
    }
    return flask.jsonify(seen)


@functions_framework.http
def returns(request: flask.Request):
    kind = request.args.get("kind", "str")
    if kind == "str":
        return "plain text"
    if kind == "bytes":
        return b"\x00bytes"
    if kind == "dict":
        return {"a": 1, "b": [1, 2]}
    if kind == "list":
        return [1, "two"]
    if kind == "status":
        return "created", 201
    if kind == "headers":
        return "with headers", 202, {"X-Extra": "1", "Content-Type": "text/csv"}
    if kind == "response":
        return flask.Response("resp", status=203, headers={"X-Resp": "r"})
    if kind == "abort":
        flask.abort(409, description="conflict here")
    if kind == "teapot":
        raise TeapotError("short and stout")
    if kind == "none":
        return None
    raise RuntimeError("the handler raised")


def undecorated(request: flask.Request) -> str:
    """Not decorated: functions-framework serves it as an HTTP target all the same."""
    return f"undecorated {request.method} {request.path}"


@functions_framework.cloud_event
def events(cloud_event) -> None:
    if cloud_event.get("type") == "scenario.fail":
        raise RuntimeError("the event handler raised")
    folder = os.environ.get("SCENARIO_EVENTS_DIR")
    if folder:
        record = {"attributes": dict(cloud_event.get_attributes()), "data": cloud_event.data}
        path = Path(folder) / f"{cloud_event['id']}.json"
        path.write_text(json.dumps(record, sort_keys=True, default=str))


@functions_framework.http
def slow(request: flask.Request) -> str:
    if os.environ.get("SCENARIO_SLOW_MARK"):
        Path(os.environ["SCENARIO_SLOW_MARK"]).write_text("started")
    time.sleep(float(request.args.get("seconds", "1")))
    return "finished"


def headers(request: flask.Request) -> flask.Response:
    """Undecorated HTTP: the request headers in the order the function sees them."""
    return flask.jsonify([[name, value] for name, value in request.headers.items()])


def background(data, context) -> None:
    """Undecorated first-generation background function (`event`, from pyproject.toml)."""
    _record("background", {"data": data, "context": vars(context)}, context.event_id)


def plain_events(cloud_event) -> None:
    """Undecorated CloudEvent function (`cloudevent`, from pyproject.toml)."""
    _record(
        "plain",
        {"attributes": dict(cloud_event.get_attributes()), "data": cloud_event.data},
        cloud_event["id"],
    )


class Greeting:
    """A typed function's input and output: built from the JSON body, answered as JSON."""

    def __init__(self, name: str) -> None:
        self.name = name

    @staticmethod
    def from_dict(data: dict) -> "Greeting":
        return Greeting(data["name"])

    def to_dict(self) -> dict:
        return {"greeting": f"hello {self.name}"}


@functions_framework.typed
def greet(greeting: Greeting):
    """A `typed` target: None, a builtin and an object with to_dict are answered differently."""
    if greeting.name == "nobody":
        return None
    if greeting.name == "plain":
        return "a plain string"
    if greeting.name == "object":
        return object()  # no to_dict: a crash
    return Greeting(greeting.name.upper())


@functions_framework.typed(Greeting)
def greet_explicit(greeting):
    """`@typed(InputType)` rather than an annotation."""
    return Greeting(greeting.name)


def _record(kind: str, record: dict, event_id: str) -> None:
    folder = os.environ.get("SCENARIO_EVENTS_DIR")
    if folder:
        path = Path(folder) / f"{kind}-{event_id}.json"
        path.write_text(json.dumps(record, sort_keys=True, default=str))
