"""Dialogflow CX's webhook messages as plain JSON: the WebhookRequest the agent sends, read
into a FulfilmentRequest, and a Reply written as the WebhookResponse it expects.

Parsed by hand rather than with the `google-cloud-dialogflow-cx` types: a target reads five
fields and writes two, and those types would bring protobuf messages of the whole API into
every cold start. The tests hold both directions to the official types, strictly.
https://cloud.google.com/dialogflow/cx/docs/reference/rest/v3/WebhookRequest
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared._errors import BadRequest

# The WebhookRequest's fields (proto JSON names) and the JSON type each one must have.
_OBJECT_FIELDS = (
    "fulfillmentInfo",
    "intentInfo",
    "pageInfo",
    "sessionInfo",
    "payload",
    "sentimentAnalysisResult",
    "languageInfo",
)
_STRING_FIELDS = (
    "detectIntentResponseId",
    "text",
    "triggerIntent",
    "transcript",
    "triggerEvent",
    "dtmfDigits",
    "languageCode",
)
_LIST_FIELDS = ("messages",)


@dataclass(frozen=True)
class FulfilmentRequest:
    """What a fulfilment handler reads from the agent's WebhookRequest."""

    tag: str
    response_id: str  # detectIntentResponseId: the same on the agent's retries of a call
    session: str
    parameters: Mapping[str, Any]  # the session parameters
    page: str  # the current page's display name
    intent: str  # the last matched intent's display name
    intent_parameters: Mapping[str, Any]  # each intent parameter's resolved value
    text: str  # what the end user said or typed, when the query was text
    language: str
    payload: Mapping[str, Any] = field(default_factory=dict)  # the request as sent


@dataclass(frozen=True)
class Reply:
    """A handler's answer: messages shown to the end user, and session parameters to set
    (a value of None removes the parameter, as Dialogflow CX defines it)."""

    messages: Sequence[str] = ()
    parameters: Mapping[str, Any] = field(default_factory=dict)


def _object(payload: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = payload.get(name)
    return value if isinstance(value, dict) else {}


def parse_request(body: bytes) -> FulfilmentRequest:
    """The FulfilmentRequest in a WebhookRequest body; BadRequest (400) naming the problem."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise BadRequest("body is not a Dialogflow CX WebhookRequest: not a JSON object")
    known = (*_OBJECT_FIELDS, *_STRING_FIELDS, *_LIST_FIELDS)
    if not any(name in payload for name in known):
        raise BadRequest("body is not a Dialogflow CX WebhookRequest: none of its fields")
    for names, kind, label in (
        (_OBJECT_FIELDS, dict, "an object"),
        (_STRING_FIELDS, str, "a string"),
        (_LIST_FIELDS, list, "a list"),
    ):
        for name in names:
            if name in payload and not isinstance(payload[name], kind):
                raise BadRequest(f"WebhookRequest field {name} must be {label}")
    tag = _object(payload, "fulfillmentInfo").get("tag")
    if not isinstance(tag, str) or not tag:
        raise BadRequest("missing fulfillmentInfo.tag: set a tag on the agent's fulfillment")
    session = _object(payload, "sessionInfo")
    parameters = session.get("parameters", {})
    if not isinstance(parameters, dict):
        raise BadRequest("WebhookRequest field sessionInfo.parameters must be an object")
    intent = _object(payload, "intentInfo")
    intent_parameters = {
        name: value.get("resolvedValue") if isinstance(value, dict) else None
        for name, value in (intent.get("parameters") or {}).items()
    }
    return FulfilmentRequest(
        tag=tag,
        response_id=str(payload.get("detectIntentResponseId") or ""),
        session=str(session.get("session") or ""),
        parameters=parameters,
        page=str(_object(payload, "pageInfo").get("displayName") or ""),
        intent=str(intent.get("displayName") or ""),
        intent_parameters=intent_parameters,
        text=str(payload.get("text") or payload.get("transcript") or ""),
        language=str(payload.get("languageCode") or ""),
        payload=payload,
    )


def response_json(reply: Reply) -> str:
    """The WebhookResponse for `reply`, in the proto JSON form the agent parses."""
    answer: dict[str, Any] = {
        "fulfillmentResponse": {"messages": [{"text": {"text": [m]}} for m in reply.messages]}
    }
    if reply.parameters:
        answer["sessionInfo"] = {"parameters": dict(reply.parameters)}
    return json.dumps(answer)
