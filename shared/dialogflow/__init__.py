"""Dialogflow CX fulfilment: handlers registered per fulfillment tag, run inside the
agent's webhook call within a budget below its timeout."""

from shared.dialogflow._fulfil import FulfilmentRegistry as FulfilmentRegistry
from shared.dialogflow._fulfil import fulfil_with as fulfil_with
from shared.dialogflow._host import FulfilmentRuntime as FulfilmentRuntime
from shared.dialogflow._messages import FulfilmentRequest as FulfilmentRequest
from shared.dialogflow._messages import Reply as Reply
from shared.dialogflow._messages import parse_request as parse_request
from shared.dialogflow._messages import response_json as response_json
from shared.providers.dialogflow import Fulfilment as Fulfilment

__all__ = [
    "Fulfilment",
    "FulfilmentRegistry",
    "FulfilmentRequest",
    "FulfilmentRuntime",
    "Reply",
    "fulfil_with",
    "parse_request",
    "response_json",
]
