"""`python -m runrun dead-letters list|replay TARGET`: see and re-publish what Pub/Sub gave up on.

Every event target's subscription dead-letters into `<target>-dead-letters` after its
maximum delivery attempts; the plan puts a pull subscription of the same name on that topic.
`list` pulls what waits there and hands it back untouched (a nack: nothing is consumed);
`replay` publishes each message again, data and attributes as first published, to the
target's own topic, and acknowledges the dead letter only once that publish is acknowledged,
so a replay that fails half-way leaves the rest where they were.

The same topic holds the deliveries whose last Cloud Tasks attempt failed: Cloud Tasks has
no dead-letter queue, so the processing target publishes them there itself, marked with
`RunrunDeadLetterBy=cloud-tasks` and the attempts it took; `list` shows them beside Pub/Sub's.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .._errors import RunrunError
from ._pubsub import dead_letter_subscription

# Attributes Pub/Sub adds when it dead-letters a message, and those the processing target
# adds when it dead-letters a Cloud Tasks delivery: not the message's own.
_ADDED_PREFIX = "CloudPubSubDeadLetter"
_OWN_PREFIX = "RunrunDeadLetter"
_HOLD_SECONDS = 60  # ack deadline while a listing or replay holds a message


class DeadLetterError(RunrunError):
    """The dead-letter subscription cannot be read, or a replay has nowhere to go."""


@dataclass(frozen=True)
class DeadLetter:
    message_id: str
    publish_time: str
    attributes: dict[str, str]
    data: bytes
    ack_id: str

    def summary(self, show_data: bool) -> dict[str, Any]:
        attrs = self.attributes
        by = attrs.get(f"{_OWN_PREFIX}By", "pubsub")
        record: dict[str, Any] = {
            "message_id": self.message_id,
            "published": self.publish_time,
            "dead_lettered_by": by,
            "delivery_attempts": attrs.get(f"{_ADDED_PREFIX}SourceDeliveryCount")
            or attrs.get(f"{_OWN_PREFIX}Attempts"),
            "source_subscription": attrs.get(f"{_ADDED_PREFIX}SourceSubscription")
            or attrs.get(f"{_OWN_PREFIX}Queue"),
            "attributes": own_attributes(attrs),
            "bytes": len(self.data),
        }
        if show_data:
            try:
                record["data"] = self.data.decode()
            except UnicodeDecodeError:
                record["data_base64"] = base64.b64encode(self.data).decode()
        return record


def own_attributes(attributes: dict[str, str]) -> dict[str, str]:
    """The message's attributes as first published (without what dead-lettering added)."""
    return {k: v for k, v in attributes.items() if not k.startswith((_ADDED_PREFIX, _OWN_PREFIX))}


@contextmanager
def _subscriber() -> Iterator[Any]:
    try:
        from google.cloud.pubsub_v1 import SubscriberClient
    except ImportError as exc:  # an installed runrun without its Pub/Sub extra
        raise DeadLetterError(
            "reading dead letters needs the Pub/Sub client: pip install 'runrun[pubsub]'"
        ) from exc

    client = SubscriberClient()
    try:
        yield client
    finally:
        client.close()


def _pull_all(client: Any, subscription: str, limit: int, timeout: float) -> list[DeadLetter]:
    """Up to `limit` messages, each held (not acknowledged) while this runs. Pub/Sub may
    answer a pull with fewer messages than wait, so pulling stops at the second empty one."""
    from google.api_core.exceptions import DeadlineExceeded, GoogleAPICallError

    found: list[DeadLetter] = []
    empty = 0
    while len(found) < limit and empty < 2:
        request = {"subscription": subscription, "max_messages": min(100, limit - len(found))}
        try:
            response = client.pull(request=request, timeout=timeout, retry=None)
            batch = list(response.received_messages)
        except DeadlineExceeded:
            batch = []
        except GoogleAPICallError as exc:
            raise DeadLetterError(f"cannot pull {subscription}: {exc.message}") from None
        empty = 0 if batch else empty + 1
        if batch:
            client.modify_ack_deadline(
                request={
                    "subscription": subscription,
                    "ack_ids": [r.ack_id for r in batch],
                    "ack_deadline_seconds": _HOLD_SECONDS,
                }
            )
        for received in batch:
            message = received.message
            found.append(
                DeadLetter(
                    message_id=message.message_id,
                    publish_time=message.publish_time.isoformat(),
                    attributes=dict(message.attributes),
                    data=bytes(message.data),
                    ack_id=received.ack_id,
                )
            )
    return found


def _release(client: Any, subscription: str, letters: list[DeadLetter]) -> None:
    if letters:
        ack_ids = [letter.ack_id for letter in letters]
        client.modify_ack_deadline(
            request={"subscription": subscription, "ack_ids": ack_ids, "ack_deadline_seconds": 0}
        )


def subscription_path(project: str, target: str, subscription: str = "") -> str:
    name = subscription or dead_letter_subscription(target)
    return name if name.startswith("projects/") else f"projects/{project}/subscriptions/{name}"


def list_dead_letters(
    project: str, target: str, *, subscription: str = "", limit: int = 100, timeout: float = 5.0
) -> list[DeadLetter]:
    """What waits on `target`'s dead-letter subscription; everything stays there."""
    path = subscription_path(project, target, subscription)
    with _subscriber() as client:
        letters = _pull_all(client, path, limit, timeout)
        _release(client, path, letters)
    return letters


def replay(
    project: str,
    target: str,
    topic: str,
    *,
    subscription: str = "",
    message_ids: frozenset[str] = frozenset(),
    limit: int = 100,
    timeout: float = 5.0,
) -> list[str]:
    """Re-publish dead letters of `target` to `topic` (all, or those in `message_ids`);
    returns the new message ids. Each dead letter is acknowledged after its publish is."""
    from google.cloud.pubsub_v1 import PublisherClient

    path = subscription_path(project, target, subscription)
    topic_path = topic if topic.startswith("projects/") else f"projects/{project}/topics/{topic}"
    publisher = PublisherClient()
    published: list[str] = []
    with _subscriber() as client:
        letters = _pull_all(client, path, limit, timeout)
        chosen = [x for x in letters if not message_ids or x.message_id in message_ids]
        _release(client, path, [x for x in letters if x not in chosen])
        try:
            for letter in chosen:
                own = own_attributes(letter.attributes)
                future = publisher.publish(topic_path, letter.data, **own)
                published.append(future.result(timeout=60))
                client.acknowledge(request={"subscription": path, "ack_ids": [letter.ack_id]})
        finally:
            _release(client, path, chosen[len(published) :])
            publisher.stop()
    return published


def print_letters(letters: list[DeadLetter], show_data: bool) -> None:
    for letter in letters:
        print(json.dumps(letter.summary(show_data), sort_keys=True))
