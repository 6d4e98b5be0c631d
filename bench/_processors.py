"""python -m bench._processors [N]: the processors' p50 time per delivery, in this process.

Each processor (store, notify, bigquery) runs N Stripe deliveries through its real client:
the embedded SQLite store, the firebase-admin SDK against the local FCM stand-in, the
BigQuery client against the BigQuery emulator (skipped, with the reason, where it is not set
up). Also timed: the runtime's `process` for the whole delivery, claims included. Prints JSON.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def measure(count: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tests.support.bqemulator import PROJECT, BigQueryEmulator
    from tests.support.fcm_standin import fcm_stand_in

    work = Path(tempfile.mkdtemp(prefix="runrun-bench-processors-"))
    for name in list(os.environ):
        if name.startswith(("RUNRUN_", "FIRESTORE_EMULATOR", "PUBSUB_EMULATOR", "K_")):
            del os.environ[name]
    os.environ.update(
        RUNRUN_STATE_DIR=str(work / "state"),
        RUNRUN_STORE="sqlite",
        RUNRUN_QUEUE="local",
        RUNRUN_INSPECT="0",
        RUNRUN_NOTIFY_ROUTES=json.dumps(
            [{"target": "stripe_webhook", "event": "*", "topic": "billing", "title": "Paid"}]
        ),
    )
    result: dict[str, Any] = {"deliveries": count}
    emulator = BigQueryEmulator(work)
    try:
        host = emulator.start()
        os.environ.update(
            BIGQUERY_EMULATOR_HOST=host,
            GOOGLE_CLOUD_PROJECT=PROJECT,
            RUNRUN_BIGQUERY_TABLE="bench.deliveries",
        )
    except RuntimeError as exc:
        result["bigquery_skipped"] = str(exc)
    try:
        with fcm_stand_in(work) as (stand_in, credentials):
            from firebase_admin import messaging

            messaging._MessagingService.FCM_URL = stand_in.fcm_url
            os.environ["GOOGLE_APPLICATION_CREDENTIALS"] = str(credentials)
            result.update(_run(count, host if "bigquery_skipped" not in result else None))
    finally:
        emulator.stop()
    return result


def _run(count: int, bigquery_host: str | None) -> dict[str, Any]:
    from cloudevents.http import CloudEvent

    from functions.processors import registry
    from shared import Delivery, MemoryPublisher, Runtime, get_settings
    from shared._delivery import message_published_event

    if bigquery_host is not None:
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import bigquery

        options = ClientOptions(api_endpoint=f"http://{bigquery_host}")
        client = bigquery.Client(
            project=os.environ["GOOGLE_CLOUD_PROJECT"],
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options=options,
        )
        client.create_dataset("bench", exists_ok=True, timeout=10)
        client.close()

    def delivery(i: int, kind: str) -> Delivery:
        body = {"type": "invoice.paid", "data": {"object": {"amount_paid": i, "currency": "eur"}}}
        return Delivery(
            "stripe_webhook",
            f"{kind}-{i}",
            "invoice.paid",
            "application/json",
            "2030-01-01T00:00:00.000Z",
            json.dumps(body).encode(),
        )

    runtime = Runtime(get_settings(), processors=registry, publisher=MemoryPublisher())
    per_processor: dict[str, list[float]] = {}
    for i in range(count + 1):  # the first round builds the clients: not counted
        for registration in registry.matching(delivery(i, "direct")):
            if not runtime.enabled(registration):
                continue
            context = runtime.processor_context(registration)
            started = time.perf_counter()
            registration.run(delivery(i, "direct"), context)
            if i:
                per_processor.setdefault(registration.name, []).append(
                    time.perf_counter() - started
                )
    whole = []
    for i in range(count):
        attributes, data = message_published_event(
            project="bench",
            topic="t",
            message_id=str(i),
            publish_time="2030-01-01T00:00:00Z",
            delivery=delivery(i, "event"),
        )
        started = time.perf_counter()
        runtime.process(CloudEvent(attributes, data))
        whole.append(time.perf_counter() - started)
    runtime.stop()
    return {
        "p50_ms": {name: _p50_ms(samples) for name, samples in per_processor.items()},
        "process_event_p50_ms": _p50_ms(whole),
    }


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 200)))
