"""`dialogflow_webhook`: a Dialogflow CX agent's fulfilment webhook.

The agent calls it on a fulfillment with a webhook and waits (5 s by default) for the
answer: the handler of the fulfillment's tag (`fulfilment/`) runs inside the call. Auth:
DIALOGFLOW_WEBHOOK_SECRET in a header, DIALOGFLOW_BASIC_AUTH, or the service agent's ID
token (DIALOGFLOW_AUDIENCE + DIALOGFLOW_SERVICE_AGENT).
"""

import flask
import functions_framework

from shared import fulfil
from shared.dialogflow import Fulfilment

from .fulfilment import handlers

DIALOGFLOW = Fulfilment(target="dialogflow_webhook")


@functions_framework.http
def dialogflow_webhook(request: flask.Request) -> flask.Response:
    return fulfil(request, DIALOGFLOW, handlers)
