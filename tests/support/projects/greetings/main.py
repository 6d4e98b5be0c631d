"""Greetings: several HTTP and background entry points in one file, each deployed on its
own (`gcloud functions deploy hello_http --trigger-http`, `... hello_pubsub
--trigger-topic=greetings`), beside two helpers that are not entry points."""

import base64
import json
import logging

from flask import abort


def greeting_for(name):
    """Helper: the greeting every entry point uses."""
    return f"Hello, {name or 'World'}!"


def log_event(kind, data):
    """Helper: one log line per event."""
    logging.getLogger(__name__).warning("%s event: %s", kind, json.dumps(data, sort_keys=True))


def hello_get(request):
    """HTTP: always the same answer."""
    return greeting_for(None)


def hello_http(request):
    """HTTP: the name from the JSON body, else from the query string."""
    payload = request.get_json(silent=True)
    if payload and "name" in payload:
        return greeting_for(payload["name"])
    return greeting_for(request.args.get("name"))


def hello_content(request):
    """HTTP: the name read according to the Content-Type."""
    content_type = request.headers.get("content-type", "")
    if content_type == "application/json":
        name = request.get_json(silent=True).get("name")
    elif content_type in ("application/octet-stream", "text/plain"):
        name = request.get_data(as_text=True)
    elif content_type == "application/x-www-form-urlencoded":
        name = request.form.get("name")
    else:
        raise ValueError(f"unknown content type: {content_type}")
    return greeting_for(name)


def hello_method(request):
    """HTTP: GET only; PUT is forbidden, anything else not allowed."""
    if request.method == "GET":
        return greeting_for(None)
    if request.method == "PUT":
        abort(403)
    abort(405)


def hello_error(request):
    """HTTP: fails on purpose, as an error-reporting sample does."""
    raise RuntimeError("I failed you")


def hello_pubsub(event, context):
    """Background function triggered by a Pub/Sub message."""
    name = base64.b64decode(event["data"]).decode() if "data" in event else None
    log_event("pubsub", {"id": context.event_id, "greeting": greeting_for(name)})


def hello_gcs(event, context):
    """Background function triggered by a Cloud Storage object change."""
    log_event("storage", {"id": context.event_id, "object": event.get("name")})
