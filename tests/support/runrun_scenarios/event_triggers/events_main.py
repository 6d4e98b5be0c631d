"""A Cloud Functions project with event functions of every kind the deploy plan wires.

`on_order` is a first-generation background function with no decorator: its signature type
(`event`) comes from configuration. The others are decorated. Where each one's events come
from is declared in the pyproject.toml beside this file, `[tool.runrun.triggers]`.
"""

from typing import Any

import functions_framework


def on_order(event: dict[str, Any], context: Any) -> None:
    """A Pub/Sub message on `orders` (legacy background event)."""
    print("order", context.event_id, event.get("data"))


@functions_framework.cloud_event
def on_invoice(cloud_event: Any) -> None:
    """A Pub/Sub message on `invoices`."""
    print("invoice", cloud_event["id"])


@functions_framework.cloud_event
def on_upload(cloud_event: Any) -> None:
    """An object finalized in the `acme-uploads` bucket (an Eventarc direct event)."""
    print("upload", cloud_event.data.get("name"))


@functions_framework.cloud_event
def on_anything(cloud_event: Any) -> None:
    """Declared nowhere: fed by the topic named after it."""
    print("anything", cloud_event["id"])


@functions_framework.http
def hook(request: Any) -> str:
    return "ok"
