"""Reading a request body within a size limit, for every pipeline that reads one (the receive
pipeline, Dialogflow fulfilment): an oversized body is refused without being read."""

from __future__ import annotations

import io

import flask
from werkzeug.exceptions import RequestEntityTooLarge

from shared._errors import PayloadTooLarge


def read_body(request: flask.Request, limit: int) -> bytes:
    """The body, refusing more than `limit` bytes without reading them all.

    Raises:
        PayloadTooLarge: declared or streamed past `limit` (413).
    """
    if request.content_length is not None and request.content_length > limit:
        # Leave the oversized body unread: hand Werkzeug an empty stream so nothing later
        # (functions-framework reads the request after every response) pulls it in. The
        # caller answers with `Connection: close`, so the unread bytes are never parsed as
        # the next request.
        request.environ["wsgi.input"] = io.BytesIO()
        request.environ["CONTENT_LENGTH"] = "0"
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    # A streamed (chunked) body is cut off one byte past the limit: Werkzeug's LimitedStream
    # stops quietly at its maximum, so a cut at exactly `limit` would pass for a whole body.
    request.max_content_length = limit + 1
    try:
        body = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"body exceeds {limit} bytes") from None
    if len(body) > limit:
        raise PayloadTooLarge(f"body exceeds {limit} bytes")
    return body
