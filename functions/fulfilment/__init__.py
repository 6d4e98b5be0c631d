"""The handlers `dialogflow_webhook` runs, one per fulfillment tag set in the agent.

Add one: a module here with a function decorated by `handlers.handler("tag")`, taking a
FulfilmentRequest and the Runtime and returning a Reply, imported below.
"""

from shared.dialogflow import FulfilmentRegistry

handlers = FulfilmentRegistry()

from . import open_ticket, order_status  # noqa: E402,F401 - importing registers them
