"""Each newer provider end to end on the real emulators: a signed request is claimed in
Firestore, published to Pub/Sub exactly once (pulled back from a subscription), and the
pulled message, pushed to `process_delivery`, is stored by the store processor."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore, pubsub_v1

from shared import get_settings, reload_settings
from shared.processors.store import EventsSettings
from tests.support.emulators import Emulators
from tests.support.providers_kit import (
    TARGETS,
    dumps,
    graph_body,
    make_app,
    meta_headers,
    provider_env,  # noqa: F401 - fixture
    valid_request,
    whatsapp_body,
)
from tests.support.providers_kit import Request as SignedRequest

pytestmark = [pytest.mark.emulators, pytest.mark.usefixtures("provider_env")]

PROJECT = "runrun-test"
_warm: set[str] = set()


@pytest.fixture
def subscription(on_emulators: Emulators) -> Iterator[str]:
    """A topic (the test's own) and a pull subscription on it, created before sending."""
    if on_emulators.firestore_host not in _warm:
        # The JVMs are slow to answer their first call: not inside a request's 2 s budget.
        client = firestore.Client(project=PROJECT)
        client.collection("warm-up").document("providers").set({"ok": True}, timeout=60)
        client.close()
        _warm.add(on_emulators.firestore_host)
    reload_settings()
    topic = f"projects/{PROJECT}/topics/{get_settings().queue.topic}"
    name = f"projects/{PROJECT}/subscriptions/{get_settings().queue.topic}-pull"
    publisher = pubsub_v1.PublisherClient()
    subscriber = pubsub_v1.SubscriberClient()
    try:
        publisher.create_topic(name=topic, timeout=60)
    except AlreadyExists:
        pass
    subscriber.create_subscription(name=name, topic=topic, timeout=60)
    yield name
    subscriber.delete_subscription(subscription=name, timeout=30)
    subscriber.close()


def pull(subscription: str, expected: int) -> list[Any]:
    """Pull until `expected` messages arrived (the emulator may answer a pull empty)."""
    subscriber = pubsub_v1.SubscriberClient()
    messages: list[Any] = []
    try:
        for _ in range(30):
            response = subscriber.pull(subscription=subscription, max_messages=50, timeout=10)
            messages += [received.message for received in response.received_messages]
            if response.received_messages:
                subscriber.acknowledge(
                    subscription=subscription,
                    ack_ids=[r.ack_id for r in response.received_messages],
                )
            if len(messages) >= expected:
                break
    finally:
        subscriber.close()
    return messages


def send(req: SignedRequest) -> tuple[int, dict[str, str]]:
    response = (
        make_app(req.target)
        .test_client()
        .post("/" + req.query, data=req.body, headers=req.all_headers())
    )
    assert response.status_code in (200, 202), response.get_data()
    return response.status_code, dict(response.headers)


def process(message: Any) -> None:
    """Push the pulled message to process_delivery exactly as a push subscription would."""
    envelope = {
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "attributes": dict(message.attributes),
            "messageId": message.message_id,
            "publishTime": "2026-01-01T00:00:00.000Z",
        },
        "subscription": "projects/runrun-test/subscriptions/push",
    }
    response = (
        make_app("process_delivery")
        .test_client()
        .post("/", data=json.dumps(envelope), headers={"Content-Type": "application/json"})
    )
    assert response.status_code == 200, response.get_data()


def stored(delivery_id: str) -> dict[str, Any] | None:
    client = firestore.Client(project=PROJECT)
    try:
        snapshot = (
            client.collection(EventsSettings.from_env(get_settings()).collection)
            .document(delivery_id)
            .get()
        )
        return snapshot.to_dict() if snapshot.exists else None
    finally:
        client.close()


def batch_request(target: str) -> SignedRequest:
    if target == "graph_webhook":
        return SignedRequest(target, dumps(graph_body("e2e-1", "e2e-2")), {}, "", "")
    payload = whatsapp_body("wamid.E1")
    payload["entry"].append(whatsapp_body("wamid.E2")["entry"][0])
    body = dumps(payload)
    return SignedRequest(target, body, meta_headers(body), "", "")


@pytest.mark.parametrize("target", TARGETS)
def test_delivered_once_and_processed(target: str, subscription: str) -> None:
    assert os.environ["FIRESTORE_EMULATOR_HOST"]
    batch = target in ("graph_webhook", "meta_webhook")
    req = batch_request(target) if batch else valid_request(target, f"e2e-{time.time_ns()}")
    send(req)
    # The same request again: a duplicate, answered without a second publish (Dropbox
    # notifications carry no id, so each is its own delivery).
    _, headers = send(req)
    repeats = target == "dropbox_webhook"
    if not batch and not repeats:
        assert headers.get("Idempotent-Replayed") == "true"
    expected = 2 if batch or repeats else 1
    messages = pull(subscription, expected)
    assert len(messages) == expected
    ids = {m.attributes["delivery_id"] for m in messages}
    assert len(ids) == expected
    for message in messages:
        assert message.attributes["source"] == target
        payload = json.loads(message.data)  # every handoff is JSON, forms included
        assert isinstance(payload, dict)
        assert "clientState" not in payload
        process(message)
        document = stored(message.attributes["delivery_id"])
        assert document is not None and document["source"] == target
        assert document["payload"] == payload
    if target == "twilio_webhook":
        assert payload["MessageStatus"] == "received"
