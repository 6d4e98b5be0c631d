"""The first steps of the receive pipeline: admit a request (method, size, ownership
handshake, content type) and read its body, before anything is verified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import flask

from shared._errors import BadRequest, MethodNotAllowed, PayloadTooLarge, UnsupportedMediaType
from shared.providers import Handshake, Provider
from shared.receiving._body import read_body

if TYPE_CHECKING:
    from typing import Any

    from shared.receiving._host import ReceivingRuntime

FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Admitted:
    """A request past admission: its headers (lower-case), its secrets by variable name,
    how its body is written ("json" or "form"), and the body itself."""

    headers: dict[str, str]
    secrets: dict[str, list[bytes]]
    body_format: str
    body: bytes


def admit(
    runtime: ReceivingRuntime,
    request: flask.Request,
    provider: Provider,
    details: dict[str, Any],
) -> Admitted | flask.Response:
    """The admitted request, or the answer to an ownership check (a handshake).

    Raises:
        MethodNotAllowed, PayloadTooLarge, BadRequest, UnsupportedMediaType.
    """
    limit = runtime.settings.receive.max_body_bytes
    if request.method not in provider.methods:
        raise MethodNotAllowed(request.method, provider.methods)
    if request.content_length is not None and request.content_length > limit:
        # Before the handshake and the content type: whatever the answer, an oversized body
        # must stay unread, and only the 413 path leaves it so.
        details["close"] = True
        read_body(request, limit)
    headers = {name.lower(): value for name, value in request.headers.items()}
    named = {env: runtime.secrets.values(env) for env in provider.env_names}
    if provider.handshake is not None:
        check = Handshake(method=request.method, query=request.args, headers=headers, secrets=named)
        answer = provider.handshake(check)
        if answer is not None:
            details["outcome"] = "handshake"
            return answer
    if request.method == "GET":  # allowed for a handshake only, and this was none
        raise BadRequest("GET is only for the ownership check, and this request is none")
    body_format = _body_format(provider, request.mimetype)
    try:
        body = read_body(request, limit)
    except PayloadTooLarge:
        details["close"] = True
        raise
    return Admitted(headers, named, body_format, body)


def _is_json(mimetype: str) -> bool:
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _body_format(provider: Provider, mimetype: str) -> str:
    if "json" in provider.body_formats and _is_json(mimetype):
        return "json"
    if "form" in provider.body_formats and mimetype == FORM:
        return "form"
    shown = mimetype or "none"
    wanted = " or ".join("application/json" if f == "json" else FORM for f in provider.body_formats)
    raise UnsupportedMediaType(f"content type {shown!r} is not accepted; send {wanted}")
