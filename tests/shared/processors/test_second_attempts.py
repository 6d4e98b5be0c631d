"""Each shipped processor's second attempt, as its receiver sees it.

A run cut short between its side effect and its completion record (a crash, a kill, a lost
write) is run again once its lease has ended: that is "at least once", and each processor
says how its receiver drops the second attempt. Here the first attempt really runs, on the
project's own processors, and its completion really fails (the store refuses every
completion while it lasts: it is retried inside the lease, then logged at ERROR); the
redelivery after the lease takes the claim over and runs the processor again. Then what the
receiver got:

- relay: the same body and the same `Idempotency-Key` (the delivery id) twice; a receiver
  keeping one effect per key (the one here does) keeps one;
- store: one document, id = the delivery id, unchanged (SQLite and Firestore's emulator);
- bigquery: both inserts carry `insertId` = the delivery id, which BigQuery drops as a
  retry (best effort). The emulator does not dedupe insertId, so it holds two rows here:
  this test shows what is sent, not what BigQuery keeps;
- deploy-staging: the second attempt finds the first build by its delivery tag on the Cloud
  Build stand-in and starts none: one build;
- notify: FCM has no idempotency key; both sends carry `runrun_delivery_id` and the same
  collapse identifiers (Android tag, `apns-collapse-id`, web tag), so the device shows one
  notification and the app drops the second by its id.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from functions.processors import registry
from shared import BackendUnavailable, Delivery, MemoryPublisher, Runtime, reload_settings
from shared._delivery import message_published_event
from shared.backends.idempotency import IdempotencyStore, document_id
from shared.processors.store import EventsSettings
from tests.shared.processors.test_bigquery_store import rows
from tests.support.cloudbuild_standin import CloudBuildStandIn
from tests.support.failing_proxy import Outage, failing_proxy
from tests.support.fcm_standin import FcmStandIn
from tests.support.pubsub_util import relay_server, warm_up

STRIPE = {
    "id": "evt_1",
    "type": "invoice.paid",
    "data": {"object": {"id": "in_1", "amount_paid": 2000, "currency": "usd"}},
}


def _delivery(delivery_id: str = "evt_second_1", source: str = "stripe_webhook") -> Delivery:
    body = STRIPE if source == "stripe_webhook" else _push()
    event_type = "invoice.paid" if source == "stripe_webhook" else "push"
    return Delivery(
        source, delivery_id, event_type, "application/json", "2030-01-01T00:00:00.000Z",
        json.dumps(body).encode(),
    )  # fmt: skip


def _push() -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "after": "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5",
        "deleted": False,
        "repository": {"full_name": "octo-org/hello-world", "default_branch": "main"},
    }


def _event(delivery: Delivery) -> CloudEvent:
    attributes, data = message_published_event(
        project="p", topic="t", message_id="1", publish_time="", delivery=delivery
    )
    return CloudEvent(attributes, data)


class _CompletionsRefused:
    """While in place, the store refuses every completion (a store failing at that moment)."""

    def __init__(self, store: IdempotencyStore) -> None:
        self.store = store
        self.refused = 0
        self._replace = store.replace

    def replace(self, record: Any, expected: Any) -> Any:
        if record.status == "completed":
            self.refused += 1
            raise BackendUnavailable("completion refused on purpose", retry_after=1)
        return self._replace(record, expected)

    def __enter__(self) -> _CompletionsRefused:
        self.store.replace = self.replace  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.replace = self._replace  # type: ignore[method-assign]


def _runtime() -> Runtime:
    return Runtime(reload_settings(), processors=registry, publisher=MemoryPublisher()).start()


def on_a_runtime_twice(delivery: Delivery, processor: str) -> None:
    """`twice` on a runtime of the project's processors, stopped afterwards."""
    runtime = _runtime()
    try:
        twice(runtime, delivery, processor)
    finally:
        runtime.stop()


def twice(runtime: Runtime, delivery: Delivery, processor: str) -> None:
    """A first attempt cut short after its side effect (its completion never recorded),
    then the redelivery once the run's lease has ended."""
    store = runtime.idempotency.store

    def record(name: str) -> Any:
        key = f"{delivery.source}:{delivery.delivery_id}:{name}"
        found = store.get(document_id("process_delivery", key))
        return None if found is None else found[0]

    with _CompletionsRefused(store) as refused:
        runtime.process(_event(delivery))
    assert refused.refused > 1  # retried inside the lease before it was left
    assert record(processor).status == "in_progress"
    # Wait for the leases themselves to end (every processor of the delivery was cut short
    # alike; the redelivery would be refused until then).
    ends = [r.lease_expires_at for r in map(record, _names(runtime, delivery)) if r is not None]
    time.sleep(max(0.0, (max(ends) - datetime.now(UTC)).total_seconds()))
    runtime.process(_event(delivery))
    assert record(processor).status == "completed"


def _names(runtime: Runtime, delivery: Delivery) -> list[str]:
    assert runtime.processors is not None
    return [r.name for r in runtime.processors.matching(delivery) if runtime.enabled(r)]


@pytest.fixture(autouse=True)
def short_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNRUN_LEASE_SECONDS", "1")  # the second attempt comes soon


# --- relay ---------------------------------------------------------------------------------


def test_relay_second_attempt_carries_the_same_idempotency_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with relay_server() as (receiver, url):
        monkeypatch.setenv("RUNRUN_RELAY_URL", url)
        on_a_runtime_twice(_delivery(), "relay")
    delivery = _delivery()
    sent = [(headers["idempotency-key"], body) for headers, body in receiver.requests]
    assert sent == [(delivery.delivery_id, delivery.data)] * 2
    # A receiver that keeps one effect per key, as a relay's receiver must, keeps one.
    effects = dict(reversed(sent))
    assert effects == {delivery.delivery_id: delivery.data}


# --- store ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("firestore", id="firestore", marks=pytest.mark.emulators),
    ],
)
def test_store_second_attempt_rewrites_the_same_document(
    backend: str, request: pytest.FixtureRequest
) -> None:
    if backend == "firestore":
        warm_up(request.getfixturevalue("on_emulators"))
    runtime = _runtime()
    collection = runtime.documents(EventsSettings.from_env(runtime.settings).collection)
    delivery = _delivery()
    seen: list[dict[str, Any] | None] = []
    real_put = collection.put

    def put(document_id: str, document: dict[str, Any]) -> None:
        real_put(document_id, document)
        seen.append(collection.get(document_id))  # what the receiver holds after each write

    collection.put = put  # type: ignore[method-assign]
    try:
        twice(runtime, delivery, "store")
        found = collection.find("delivery_id", delivery.delivery_id)
    finally:
        runtime.stop()
    assert len(seen) == 2 and seen[0] is not None and seen[0] == seen[1]
    assert seen[0]["delivery_id"] == delivery.delivery_id
    assert found == [seen[0]]  # one document for the delivery, as the first attempt wrote it


# --- bigquery ------------------------------------------------------------------------------


def test_bigquery_second_attempt_sends_the_same_insert_id(
    on_bigquery: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, table = on_bigquery
    watched = Outage(fail_first=0, path_contains="/insertAll")
    with failing_proxy(host, watched) as proxy:
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", proxy)
        on_a_runtime_twice(_delivery(), "bigquery")
    inserts = [json.loads(body) for _path, body in watched.sent]
    assert [[row["insertId"] for row in sent["rows"]] for sent in inserts] == [
        ["evt_second_1"],
        ["evt_second_1"],
    ]
    assert inserts[0]["rows"][0]["json"] == inserts[1]["rows"][0]["json"]
    # BigQuery drops a retried insertId (best effort); the emulator keeps both (its quirk).
    assert [r["delivery_id"] for r in rows(host, table)] == ["evt_second_1"] * 2


# --- deploy-staging ------------------------------------------------------------------------


@pytest.fixture
def cloudbuild(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudBuildStandIn]:
    server = CloudBuildStandIn(triggers={"deploy-hello"}, forbidden=set())
    server.start()
    monkeypatch.setenv("RUNRUN_CLOUDBUILD_ENDPOINT", server.endpoint)
    monkeypatch.setenv("RUNRUN_CLOUDBUILD_PROJECT", "runrun-staging")
    monkeypatch.setenv("RUNRUN_CLOUDBUILD_TRIGGERS", "octo-org/hello-world=deploy-hello")
    try:
        yield server
    finally:
        server.stop()


def test_deploy_staging_second_attempt_finds_its_build_by_tag(
    cloudbuild: CloudBuildStandIn,
) -> None:
    on_a_runtime_twice(_delivery("push-second-1", "github_webhook"), "deploy-staging")
    assert len(cloudbuild.runs()) == 1  # one trigger run: one build
    lookups = [c for c in cloudbuild.calls if c.path.endswith("/builds")]
    assert len(lookups) == 2  # each attempt looked for the delivery's build first


# --- notify --------------------------------------------------------------------------------


def test_notify_second_attempt_carries_the_same_delivery_id_and_collapse_ids(
    fcm: FcmStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    route = {"target": "stripe_webhook", "event": "*", "topic": "billing", "title": "Paid"}
    monkeypatch.setenv("RUNRUN_NOTIFY_ROUTES", json.dumps([route]))
    on_a_runtime_twice(_delivery(), "notify")
    first, second = fcm.messages()
    assert first == second  # FCM has no key: it delivers both, the device collapses them
    assert first["data"]["runrun_delivery_id"] == "evt_second_1"
    assert first["android"]["notification"]["tag"] == "evt_second_1"
    assert first["apns"]["headers"]["apns-collapse-id"] == "evt_second_1"
    assert first["webpush"]["notification"]["tag"] == "evt_second_1"
