"""`process_delivery`: the other side of the queue. Pub/Sub pushes each delivery here (as a
messagePublished CloudEvent); the embedded queue calls it directly with the same event."""

import functions_framework
from cloudevents.http import CloudEvent

from shared import authorize_push, process_event
from shared.handoff import set_local_consumer

from .processors import registry


@functions_framework.cloud_event
def process_delivery(cloud_event: CloudEvent) -> None:
    authorize_push()  # Pub/Sub push / Cloud Tasks OIDC token, when PUSH_AUDIENCE is set
    # Raising makes functions-framework answer 500, so Pub/Sub redelivers.
    process_event(cloud_event, registry)


set_local_consumer(process_delivery)
