"""`order-status`: the status of a payment or an order the end user names, from the Stripe
and Shopify deliveries that the `store` processor keeps (RUNRUN_EVENTS_COLLECTION).

The id comes from the session parameter `order_id` (a form parameter of the agent's page),
else from the matched intent's parameter of that name. Stripe objects are found by their
id (`pi_...`, `in_...`), Shopify orders by number (`1001`, `#1001`) or id.
"""

from typing import Any

from shared.dialogflow import FulfilmentRequest, FulfilmentRuntime, Reply
from shared.processors.store import PROCESSOR as STORE

PARAMETER = "order_id"


def _said_id(call: FulfilmentRequest) -> str:
    value = call.parameters.get(PARAMETER) or call.intent_parameters.get(PARAMETER) or ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Dialogflow's @sys.number arrives as 1001.0
    return str(value).strip()


def _lookups(said: str) -> list[tuple[str, str | int]]:
    """(field, value) pairs to try, most specific first."""
    found: list[tuple[str, str | int]] = [("payload.data.object.id", said)]
    number = said.removeprefix("#")
    if number.isdigit():
        found += [
            ("payload.name", f"#{number}"),
            ("payload.order_number", int(number)),
            ("payload.id", int(number)),
        ]
    return found


def _status(document: dict[str, Any]) -> str:
    payload = document.get("payload") or {}
    if document.get("source") == "stripe_webhook":
        obj = (payload.get("data") or {}).get("object") or {}
        return str(obj.get("status") or payload.get("type") or "unknown")
    parts = [payload.get("financial_status"), payload.get("fulfillment_status") or "unfulfilled"]
    if payload.get("cancelled_at"):
        parts = ["cancelled"]
    return " and ".join(str(p) for p in parts if p)


def order_status(call: FulfilmentRequest, runtime: FulfilmentRuntime) -> Reply:
    said = _said_id(call)
    if not said:
        return Reply(messages=["Which order? Tell me its number or payment id."])
    collection = runtime.documents(runtime.processor_settings(STORE).collection)
    for field, value in _lookups(said):
        documents = [
            d
            for d in collection.find(field, value)
            if d.get("source") in ("stripe_webhook", "shopify_webhook")
        ]
        if documents:
            latest = max(documents, key=lambda d: str(d.get("received_at") or ""))
            status = _status(latest)
            return Reply(
                messages=[f"{said} is {status}."],
                parameters={"order_status": status},
            )
    return Reply(
        messages=[f"I could not find {said}. Please check the number and try again."],
        parameters={"order_status": None},
    )
