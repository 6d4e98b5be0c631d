"""The JSON answers both sides send, and the one translation of a WebhookError to HTTP."""

from __future__ import annotations

import json
from typing import Any

import flask

from shared._errors import WebhookError


def json_response(status: int, body: dict[str, Any]) -> flask.Response:
    return flask.Response(json.dumps(body), status=status, content_type="application/json")


def error_response(exc: WebhookError) -> flask.Response:
    response = json_response(exc.status_code, {"error": exc.message})
    response.headers.update(exc.headers())
    return response
