"""`python -m runrun dead-letters list|replay` against the real Pub/Sub emulator: a message
dead-lettered by Pub/Sub itself is listed (and stays), then replayed to its topic once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest

from runrun.deploy._pubsub import dead_letter_subscription, dead_letter_topic
from tests.support.emulators import Emulators
from tests.support.runrun_scenarios import corpus

PROJECT = "runrun-test"
ATTEMPTS = 5  # Pub/Sub's minimum


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runrun", "dead-letters", *args, "--project", PROJECT],
        cwd=corpus.ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def pull(subscriber: Any, subscription: str) -> list[Any]:
    from google.api_core.exceptions import DeadlineExceeded

    try:
        request = {"subscription": subscription, "max_messages": 10}
        return list(subscriber.pull(request=request, timeout=2, retry=None).received_messages)
    except DeadlineExceeded:
        return []


@pytest.mark.emulators
def test_dead_letters_are_listed_then_replayed(on_emulators: Emulators) -> None:
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient
    from google.pubsub_v1 import DeadLetterPolicy

    target = f"proc_{uuid.uuid4().hex[:8]}"
    topic = f"projects/{PROJECT}/topics/{target}"
    dead_topic = f"projects/{PROJECT}/topics/{dead_letter_topic(target)}"
    source = f"projects/{PROJECT}/subscriptions/{target}-push"
    dead_sub = f"projects/{PROJECT}/subscriptions/{dead_letter_subscription(target)}"
    publisher, subscriber = PublisherClient(), SubscriberClient()
    try:
        for path in (topic, dead_topic):
            publisher.create_topic(name=path, timeout=30)
        subscriber.create_subscription(name=dead_sub, topic=dead_topic, timeout=30)
        policy = DeadLetterPolicy(dead_letter_topic=dead_topic, max_delivery_attempts=ATTEMPTS)
        subscriber.create_subscription(
            request={"name": source, "topic": topic, "dead_letter_policy": policy}, timeout=30
        )
        data = json.dumps({"delivery_id": "d-1", "event": "push"}).encode()
        publisher.publish(topic, data, delivery_id="d-1").result(timeout=30)

        # A processor that always fails: every delivery nacked until Pub/Sub gives up.
        attempts = 0
        for _ in range(200):
            batch = pull(subscriber, source)
            for received in batch:
                attempts = max(attempts, received.delivery_attempt)
            if batch:
                ack_ids = [r.ack_id for r in batch]
                subscriber.modify_ack_deadline(
                    request={"subscription": source, "ack_ids": ack_ids, "ack_deadline_seconds": 0}
                )
            elif attempts >= ATTEMPTS:
                break
        assert attempts == ATTEMPTS

        listed: list[dict[str, Any]] = []
        for _ in range(20):  # forwarding to the dead-letter topic is asynchronous
            result = cli("list", target, "--data")
            assert result.returncode == 0, result.stderr
            listed = [json.loads(line) for line in result.stdout.splitlines()]
            if listed:
                break
        [letter] = listed
        assert letter["attributes"] == {"delivery_id": "d-1"}
        assert letter["data"] == data.decode()
        assert letter["delivery_attempts"] == str(ATTEMPTS)
        assert letter["source_subscription"].endswith(f"{target}-push")

        again = cli("list", target)  # listing consumed nothing
        assert [json.loads(line)["message_id"] for line in again.stdout.splitlines()] == [
            letter["message_id"]
        ]

        replayed = cli("replay", target, "--topic", target)
        assert replayed.returncode == 0, replayed.stderr
        assert len(replayed.stdout.split()) == 1
        [back] = pull(subscriber, source)
        assert back.message.data == data
        assert dict(back.message.attributes) == {"delivery_id": "d-1"}
        subscriber.acknowledge(request={"subscription": source, "ack_ids": [back.ack_id]})
        assert cli("list", target).stdout == ""  # acknowledged once republished
    finally:
        subscriber.close()


def test_dead_letters_need_a_project() -> None:
    env = {k: v for k, v in os.environ.items() if k != "GOOGLE_CLOUD_PROJECT"}
    result = subprocess.run(
        [sys.executable, "-m", "runrun", "dead-letters", "list", "process_delivery"],
        cwd=corpus.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "give --project or set GOOGLE_CLOUD_PROJECT" in result.stderr
    assert "Traceback" not in result.stderr
