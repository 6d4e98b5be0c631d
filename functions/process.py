"""`process_delivery`: the other side of the queue. Pub/Sub pushes each delivery here (as a
messagePublished CloudEvent); the embedded queue calls it directly with the same event."""

import json
import logging
from pathlib import Path
from types import TracebackType
from typing import Any

import flask
import functions_framework
from cloudevents.http import CloudEvent

from shared import WebhookError, authorize_push, process_event
from shared.handoff import set_local_consumer

from .processors import registry

log = logging.getLogger("runrun.process")


def _answer(status: int, message: str, headers: dict[str, str] | None = None) -> flask.Response:
    body = json.dumps({"error": message})
    return flask.Response(body, status, headers or {}, content_type="application/json")


@functions_framework.cloud_event
def process_delivery(cloud_event: CloudEvent) -> None:
    authorize_push()  # Pub/Sub push / Cloud Tasks OIDC token, when PUSH_AUDIENCE is set
    try:
        # A processor that raises makes functions-framework answer 500, so Pub/Sub redelivers.
        process_event(cloud_event, registry)
    except WebhookError as exc:
        if not flask.has_request_context():
            raise  # the local queue retries with its own backoff
        # A store that is down, or the same message running elsewhere right now: 503 or 409
        # with Retry-After (Pub/Sub redelivers any non-2xx), not a crash with a traceback.
        log.warning("delivery not processed", extra={"reason": exc.message})
        flask.abort(_answer(exc.status_code, exc.message, exc.headers()))


_OURS = tuple(
    str(Path(__file__).resolve().parent.parent / name) for name in ("functions", "shared")
)


def _raised_by_framework(tb: TracebackType | None) -> bool:
    """Whether the exception came out of functions-framework's parsing of the request,
    before any code of ours ran."""
    files = []
    while tb is not None:
        files.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    return any("functions_framework" in f for f in files) and not any(
        f.startswith(_OURS) for f in files
    )


# functions-framework parses the request before the function runs, and crashes (500) on a
# body that is not UTF-8, on JSON nested too deeply or on JSON that is not an object; such
# a request is no CloudEvent and no push envelope: a 400, as for any other event it cannot
# parse.
def _not_utf8(exc: UnicodeDecodeError) -> flask.Response:
    if not _raised_by_framework(exc.__traceback__):
        raise exc
    return _answer(400, "body is not valid UTF-8")


def _too_deep(exc: RecursionError) -> flask.Response:
    if not _raised_by_framework(exc.__traceback__):
        raise exc
    return _answer(400, "body is nested too deeply")


def _not_an_event(exc: TypeError) -> flask.Response:
    if flask.current_app.name != "process_delivery" or not _raised_by_framework(exc.__traceback__):
        raise exc
    return _answer(400, "body is neither a CloudEvent nor a Pub/Sub push envelope")


def _unparseable_event(exc: Exception) -> Any:
    # functions-framework's own 400 page echoes the request's headers and body, which can
    # carry a bearer token: answer without them.
    if flask.current_app.name != "process_delivery":
        return exc
    return _answer(400, "body is neither a CloudEvent nor a Pub/Sub push envelope")


# Registered by call: the registry is untyped, and these are plain Flask error handlers.
functions_framework.errorhandler(UnicodeDecodeError)(_not_utf8)
functions_framework.errorhandler(TypeError)(_not_an_event)
functions_framework.errorhandler(RecursionError)(_too_deep)
functions_framework.errorhandler(400)(_unparseable_event)
set_local_consumer(process_delivery)
