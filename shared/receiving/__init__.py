"""The receiving side: one pipeline every webhook target runs, from the request to the
2xx that is sent only once the queue holds the delivery."""

from shared.receiving._host import ReceivingRuntime as ReceivingRuntime
from shared.receiving._pipeline import receive_with as receive_with
from shared.receiving._route import Route as Route

__all__ = [
    "ReceivingRuntime",
    "Route",
    "receive_with",
]
