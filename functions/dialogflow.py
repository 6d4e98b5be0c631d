"""`dialogflow_webhook`: a Dialogflow CX agent's fulfilment webhook.

The agent calls it on a fulfillment with a webhook and waits (5 s by default) for the
answer: the handler of the fulfillment's tag (`fulfilment/`) runs inside the call. Auth:
DIALOGFLOW_WEBHOOK_SECRET in a header, DIALOGFLOW_BASIC_AUTH, or the service agent's ID
token (DIALOGFLOW_AUDIENCE + DIALOGFLOW_SERVICE_AGENT).
"""

from shared import fulfilment_target

from .fulfilment import handlers

dialogflow_webhook = fulfilment_target("dialogflow", handlers)
