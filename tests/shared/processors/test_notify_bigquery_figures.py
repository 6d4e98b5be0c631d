"""The figure: 200 deliveries, each queued twice, while FCM answers 503 to its first 20 sends
and BigQuery refuses inserts for a while -> exactly 200 notifications and 200 rows.

Everything real but the outages' timing: the embedded queue (its worker, backoff and
redelivery), the official firebase-admin SDK against the FCM stand-in, the official BigQuery
client against the emulator, behind a proxy that answers 503 to the first 60 insertAll
requests. That outage is counted in requests rather than lasting 10 s, so the test does not
sleep through it; with a 1 s retry deadline it spans several seconds of failed deliveries.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from shared import Delivery, Runtime, current_runtime, get_settings, reload_settings
from tests.shared.processors.test_bigquery_store import client
from tests.shared.processors.test_notify_fcm import STRIPE_ROUTE, invoice
from tests.support.failing_proxy import Outage, failing_proxy
from tests.support.fcm_standin import FcmStandIn, fcm_error
from tests.support.pubsub_util import wait_for

DELIVERIES = 200
FCM_FAILURES = 20
BIGQUERY_FAILURES = 60


def outbox_left(state: Path) -> list[tuple[str, int]]:
    conn = sqlite3.connect(state / "queue.sqlite3")
    try:
        topic = get_settings().queue.topic
        found = conn.execute("SELECT status, attempts FROM outbox WHERE topic = ?", (topic,))
        return [(str(status), int(attempts)) for status, attempts in found.fetchall()]
    finally:
        conn.close()


def test_outages_lose_nothing_and_double_nothing(
    on_bigquery: tuple[str, str],
    fcm: FcmStandIn,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator, table = on_bigquery
    outage = Outage(fail_first=BIGQUERY_FAILURES, path_contains="/insertAll")
    with failing_proxy(emulator, outage) as proxy:
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", proxy)
        monkeypatch.setenv("RUNRUN_BIGQUERY_TIMEOUT_SECONDS", "1")
        monkeypatch.setenv("RUNRUN_NOTIFY_ROUTES", json.dumps([STRIPE_ROUTE]))
        monkeypatch.setenv("RUNRUN_STORE", "sqlite")
        monkeypatch.setenv("RUNRUN_QUEUE", "local")
        monkeypatch.setenv("RUNRUN_QUEUE_MAX_ATTEMPTS", "100")  # outages must not dead-letter
        monkeypatch.setenv("RUNRUN_QUEUE_MAX_BACKOFF_SECONDS", "1")
        settings = reload_settings()
        fcm.answer = lambda n, body: (
            fcm_error(503, "UNAVAILABLE", "UNAVAILABLE") if n < FCM_FAILURES else None
        )

        items = [
            Delivery(
                source="stripe_webhook",
                delivery_id=f"evt_{i:03d}",
                event_type="invoice.paid",
                content_type="application/json",
                received_at="2030-01-01T00:00:00.000Z",
                data=json.dumps(invoice(f"in_{i}", 100 + i)).encode(),
            )
            for i in range(DELIVERIES)
        ]
        # Queued first (a runtime without a worker), then drained by this process's runtime.
        publishing = Runtime(settings, run_queue_worker=False)
        for _ in range(2):  # at-least-once: every delivery reaches the processors twice
            for item in items:
                publishing.publisher.publish(settings.queue.topic, item.data, item.attributes())
        publishing.stop()
        current_runtime()  # starts the local queue's worker
        wait_for(lambda: not outbox_left(isolated_env), "the outbox to drain", timeout=600)

    notified = [m["data"]["runrun_delivery_id"] for m in fcm.accepted_messages()]
    bq = client(emulator)
    try:
        query = f"SELECT COUNT(*) AS n, COUNT(DISTINCT delivery_id) AS d FROM `{table}`"
        [counts] = list(bq.query(query, timeout=30).result())
    finally:
        bq.close()
    print(
        f"\nfigure: {DELIVERIES} deliveries x2 -> {len(notified)} notifications "
        f"({len(set(notified))} distinct), {counts['n']} rows ({counts['d']} distinct); "
        f"FCM 503s: {FCM_FAILURES}, BigQuery 503s: {outage.refused}"
    )
    assert sorted(notified) == sorted(item.delivery_id for item in items)
    assert (counts["n"], counts["d"]) == (DELIVERIES, DELIVERIES)
    # The outages really happened (and were ridden out by redelivery).
    assert outage.refused == BIGQUERY_FAILURES
    assert len(fcm.requests) > DELIVERIES + FCM_FAILURES - 1
