"""`open-ticket`: hand the follow-up to the queue and answer at once.

The ticket travels as a delivery of `dialogflow_webhook` (event type `open-ticket`, the
call's detectIntentResponseId as its id), so the processors (`store`, `relay`...) take it
from there, exactly once, while the end user already has the answer.
"""

import json

from shared import Delivery
from shared._delivery import rfc3339_now
from shared.dialogflow import FulfilmentRequest, FulfilmentRuntime, Reply


def open_ticket(call: FulfilmentRequest, runtime: FulfilmentRuntime) -> Reply:
    ticket = {
        "session": call.session,
        "summary": call.parameters.get("issue") or call.text,
        "email": call.parameters.get("email"),
        "language": call.language,
    }
    body = json.dumps(ticket, sort_keys=True).encode()
    delivery = Delivery(
        source="dialogflow_webhook",
        delivery_id=call.response_id or call.session,
        event_type="open-ticket",
        content_type="application/json",
        received_at=rfc3339_now(),
        data=body,
    )
    runtime.publisher.publish(runtime.settings.queue.topic, body, delivery.attributes())
    return Reply(
        messages=["Thanks, I have opened a ticket. Our team will get back to you by email."],
        parameters={"ticket_requested": True},
    )
