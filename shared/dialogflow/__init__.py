"""Dialogflow CX fulfilment: handlers registered per fulfillment tag, run inside the
agent's webhook call within a budget below its timeout."""

from ._fulfil import Fulfilment as Fulfilment
from ._fulfil import FulfilmentRegistry as FulfilmentRegistry
from ._fulfil import fulfil as fulfil
from ._messages import FulfilmentRequest as FulfilmentRequest
from ._messages import Reply as Reply
from ._messages import parse_request as parse_request
from ._messages import response_json as response_json

__all__ = [
    "Fulfilment",
    "FulfilmentRegistry",
    "FulfilmentRequest",
    "Reply",
    "fulfil",
    "parse_request",
    "response_json",
]
