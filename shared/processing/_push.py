"""The HTTP edge of the processing side: a push request becomes a CloudEvent, the process
pipeline runs it, and any error becomes its answer here, once.

What arrives: a Pub/Sub push envelope (`{"message": ..., "subscription": ...}`, Cloud Run's
push subscriptions), or a CloudEvent (binary mode from Eventarc when deployed as a Cloud
Function with --trigger-topic; structured mode). The body is parsed here, by our code, before
anything else reads it: not UTF-8, nested too deeply or not a JSON object is one clear 400.
Any 2xx acknowledges the message; any other answer makes Pub/Sub redeliver it. A Cloud
Tasks task's last attempt that fails is handed to the dead-letter topic instead
(`_dead_letter`), since Cloud Tasks would delete it.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

import flask

from shared._delivery import PUBSUB_EVENT_TYPE
from shared._errors import BadRequest, WebhookError
from shared._http import error_response
from shared.processing._dead_letter import dead_letter_task, last_task_attempt
from shared.processing._process import process_event
from shared.providers import push_auth_enabled

if TYPE_CHECKING:
    from shared.processing._host import ProcessingRuntime

log = logging.getLogger("runrun.process")

NOT_AN_EVENT = "body is neither a CloudEvent nor a Pub/Sub push envelope"


def process_push_with(request: flask.Request, runtime: ProcessingRuntime) -> flask.Response:
    """Answer one push request to the processing target, on `runtime`."""
    try:
        if push_auth_enabled():  # Pub/Sub push / Cloud Tasks OIDC token
            headers = {name.lower(): value for name, value in request.headers.items()}
            try:
                runtime.verify_push(headers)
            except WebhookError as exc:
                log.warning("push request refused", extra={"reason": exc.message})
                raise
        event = parse_push(request)
        try:
            process_event(event, runtime)
        except WebhookError as exc:
            if not _dead_lettered(request, runtime, event, exc):
                raise
            return flask.Response("dead-lettered", status=200, content_type="text/plain")
    except WebhookError as exc:
        if exc.status_code >= 500 or exc.status_code == 409:
            log.warning("delivery not processed", extra={"reason": exc.message})
        return error_response(exc)
    return flask.Response("OK", status=200, content_type="text/plain")


def _dead_lettered(
    request: flask.Request, runtime: ProcessingRuntime, event: Any, exc: WebhookError
) -> bool:
    """On a Cloud Tasks task's last attempt, a failure goes to the dead-letter topic."""
    if exc.status_code < 500 and exc.status_code != 409:
        return False
    headers = {name.lower(): value for name, value in request.headers.items()}
    attempt = last_task_attempt(headers, runtime.settings.queue.max_attempts)
    if attempt is None:
        return False
    message_id = dead_letter_task(runtime, event, attempt, headers)
    log.error(
        "last attempt failed: dead-lettered",
        extra={"reason": exc.message, "attempt": attempt, "message_id": message_id},
    )
    return True


def parse_push(request: flask.Request) -> Any:
    """The CloudEvent in `request`.

    Raises:
        BadRequest: the body is not a JSON object, or is no CloudEvent or push envelope.
    """
    from cloudevents.exceptions import GenericException
    from cloudevents.http import CloudEvent, from_http

    body = request.get_data()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not valid UTF-8") from None
    try:
        parsed = json.loads(text)
    except RecursionError:
        raise BadRequest("body is nested too deeply") from None
    except ValueError:
        raise BadRequest(f"body is not valid JSON; {NOT_AN_EVENT}") from None
    if not isinstance(parsed, dict):
        raise BadRequest(f"body is not a JSON object; {NOT_AN_EVENT}")
    if "ce-specversion" in request.headers or request.mimetype.startswith(
        "application/cloudevents"
    ):
        try:
            return from_http(dict(request.headers), body)
        except (GenericException, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise BadRequest(NOT_AN_EVENT) from exc
    message = parsed.get("message")
    if not isinstance(message, dict):
        raise BadRequest(NOT_AN_EVENT)
    # The CloudEvent functions-framework makes of a push envelope: the message keeps its
    # fields, the event its id and time.
    message_id = str(message.get("messageId") or message.get("message_id") or "")
    attributes = {
        "id": message_id or "unknown",
        "type": PUBSUB_EVENT_TYPE,
        "source": f"//pubsub.googleapis.com/{parsed.get('subscription') or 'unknown'}",
        "datacontenttype": "application/json",
    }
    publish_time = message.get("publishTime") or message.get("publish_time")
    if isinstance(publish_time, str) and publish_time:
        attributes["time"] = publish_time
    return CloudEvent(attributes, {"message": message, "subscription": parsed.get("subscription")})
