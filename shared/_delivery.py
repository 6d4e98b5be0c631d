"""A delivery as it travels from receiver to processor: raw body bytes plus attributes.

The receiver publishes it as a Pub/Sub message; the processor receives it back inside the
`google.cloud.pubsub.topic.v1.messagePublished` CloudEvent that functions-framework builds
from a push subscription's envelope (and that the local queue builds the same way).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PUBSUB_EVENT_TYPE = "google.cloud.pubsub.topic.v1.messagePublished"
_PUBSUB_MESSAGE_TYPE = "type.googleapis.com/google.pubsub.v1.PubsubMessage"


def rfc3339_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Delivery:
    source: str
    delivery_id: str
    event_type: str
    content_type: str
    received_at: str
    data: bytes
    # Set on a scheduled run of one processor (a delayed processor's own message): only
    # that processor runs it.
    processor: str = ""
    # The W3C trace context of the hand-off that queued it, when traces are on: every
    # processor run joins the delivery's trace (shared/_trace.py). Never part of its hash.
    traceparent: str = ""

    def attributes(self) -> dict[str, str]:
        attributes = {
            "source": self.source,
            "delivery_id": self.delivery_id,
            "event_type": self.event_type,
            "content_type": self.content_type,
            "received_at": self.received_at,
        }
        if self.processor:
            attributes["processor"] = self.processor
        if self.traceparent:
            attributes["traceparent"] = self.traceparent
        return attributes

    @classmethod
    def from_attributes(cls, attributes: dict[str, str], data: bytes) -> Delivery:
        """The delivery a queue message carries (attributes as `attributes()` wrote them)."""
        return cls(
            source=attributes["source"],
            delivery_id=attributes["delivery_id"],
            event_type=attributes.get("event_type", ""),
            content_type=attributes.get("content_type", "application/json"),
            received_at=attributes.get("received_at", ""),
            data=data,
            processor=attributes.get("processor", ""),
            traceparent=attributes.get("traceparent", ""),
        )

    def json(self) -> Any:
        """The body parsed as JSON (receivers only hand off bodies that parsed)."""
        return json.loads(self.data)


class NotADelivery(ValueError):
    """The CloudEvent does not carry a delivery published by a receiver."""


def delivery_from_event(data: Any) -> Delivery:
    """Read a Delivery out of a messagePublished CloudEvent's data."""
    try:
        message = data["message"]
        attributes = message.get("attributes") or {}
        body = base64.b64decode(message.get("data") or "", validate=True)
        delivery = Delivery.from_attributes(attributes, body)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:  # ValueError: bad base64 too
        raise NotADelivery(f"not a runrun delivery message: {exc!r}") from exc
    # Receivers hand off JSON only (forms and batch items are converted to it): a body that
    # does not parse never will, and would fail every processor on every redelivery.
    try:
        delivery.json()
    except (ValueError, RecursionError) as exc:
        raise NotADelivery(f"message data is not JSON: {type(exc).__name__}") from None
    return delivery


def message_published_event(
    *, project: str, topic: str, message_id: str, publish_time: str, delivery: Delivery
) -> tuple[dict[str, str], dict[str, Any]]:
    """CloudEvent attributes and data, exactly as functions-framework converts a raw push."""
    attributes = {
        "id": message_id,
        "time": publish_time,
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "type": PUBSUB_EVENT_TYPE,
        "source": f"//pubsub.googleapis.com/projects/{project}/topics/{topic}",
    }
    data = {
        "message": {
            "@type": _PUBSUB_MESSAGE_TYPE,
            "data": base64.b64encode(delivery.data).decode(),
            "attributes": delivery.attributes(),
            "messageId": message_id,
            "publishTime": publish_time,
        }
    }
    return attributes, data
