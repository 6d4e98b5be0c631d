"""A processor that asks to run 5 s after its delivery was received (RUNRUN_PROCESSORS for
the Cloud Tasks emulator tests): it POSTs to RUNRUN_RELAY_URL when it runs, saying when."""

import os
import time

import requests

from shared import Delivery, ProcessorRegistry, Runtime

registry = ProcessorRegistry()
DELAY = 5.0


@registry.register(source="github_webhook", name="later", delay=DELAY)
def later(delivery: Delivery, runtime: Runtime) -> None:
    requests.post(
        os.environ["RUNRUN_RELAY_URL"],
        headers={
            "Idempotency-Key": delivery.delivery_id,
            "X-Received-At": delivery.received_at,
            "X-Ran-At": repr(time.time()),
        },
        timeout=10,
    ).raise_for_status()
