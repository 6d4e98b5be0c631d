"""The handlers `dialogflow_webhook` runs, one per fulfillment tag set in the agent.

Add one: a module here with a function taking a FulfilmentRequest and the runtime and
returning a Reply, and its tag in `handlers` below.
"""

from shared.dialogflow import FulfilmentRegistry

from .open_ticket import open_ticket
from .order_status import order_status

handlers = FulfilmentRegistry(
    {
        "open-ticket": open_ticket,
        "order-status": order_status,
    }
)
