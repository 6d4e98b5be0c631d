"""What a report counts as (a closed set of outcomes and reason classes), the latency
buckets around each provider's answer window, and the local queue's gauges read from a real
outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shared.backends.handoff import LocalQueue
from shared.metrics._build import receive_buckets
from shared.metrics._labels import delivery_labels
from shared.metrics._queue import QueueCollector, oldest_age
from shared.settings import reload_settings


@pytest.mark.parametrize(
    ("details", "labels"),
    [
        ({"outcome": "accepted", "status": 200}, ("accepted", "")),
        ({"outcome": "accepted_unclaimed", "status": 200}, ("accepted", "unclaimed")),
        ({"outcome": "replayed", "status": 200}, ("replayed", "")),
        ({"outcome": "handshake", "status": 200}, ("handshake", "")),
        ({"outcome": "ignored", "status": 200}, ("ignored", "")),
        ({"outcome": "rejected", "status": 401}, ("rejected", "signature")),
        ({"outcome": "rejected", "status": 400}, ("rejected", "malformed")),
        ({"outcome": "rejected", "status": 409}, ("rejected", "in_progress")),
        ({"outcome": "rejected", "status": 413}, ("rejected", "too_large")),
        ({"outcome": "rejected", "status": 422}, ("rejected", "payload_mismatch")),
        ({"outcome": "rejected", "status": 418}, ("rejected", "client_error")),
        (
            {"outcome": "rejected", "status": 503, "handoff_failed": True},
            ("server_error", "handoff"),
        ),
        ({"outcome": "rejected", "status": 503}, ("server_error", "unavailable")),
        ({"outcome": "rejected", "status": 500}, ("server_error", "error")),
        ({"outcome": "whatever a sender chose", "status": 200}, ("accepted", "")),
        ({}, ("server_error", "error")),  # no status: it did not end as planned
    ],
)
def test_delivery_labels(details: dict[str, Any], labels: tuple[str, str]) -> None:
    assert delivery_labels(details) == labels


def test_buckets_hold_every_providers_deadline_and_window(isolated_env: Path) -> None:
    buckets = receive_buckets(reload_settings())
    # Slack, Zoom, Graph: 3 s (deadline 2); Shopify 5 (4); GitHub 10 (8); Twilio and Standard
    # Webhooks 15 (12); RUNRUN_DEADLINE_SECONDS 2.
    assert {2.0, 3.0, 4.0, 5.0, 8.0, 10.0, 12.0, 15.0} <= set(buckets)
    assert list(buckets) == sorted(set(buckets))
    assert buckets[0] < 0.01  # a healthy delivery is far faster than any window


def test_a_target_deadline_override_is_a_bucket(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK", "6.5")
    assert 6.5 in receive_buckets(reload_settings())


def test_the_queue_gauges_read_the_outbox(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    queue = LocalQueue(isolated_env / "queue.sqlite3", max_attempts=1)
    queue.publish("t", b"a", {})
    queue.publish("t", b"b", {})
    queue.publish("t", b"later", {}, not_before=queue.clock() + 3600)  # scheduled: not late
    leased = queue.lease_batch("t", 1)
    assert isinstance(leased, list)
    assert queue.failed(leased[0], "boom")  # one attempt allowed: dead-lettered
    backlog = queue.backlog()
    assert (backlog.waiting, backlog.dead) == (2, 1)
    assert backlog.oldest_due_published_at  # "b" is due
    collector = QueueCollector(queue.backlog, clock=lambda: queue.clock() + 30)
    values = {family.name: family.samples[0].value for family in collector.collect()}
    assert values["runrun_queue_depth"] == 2
    assert values["runrun_queue_dead_letters"] == 1
    assert 29 <= values["runrun_queue_oldest_age_seconds"] <= 60


def test_no_local_queue_no_queue_gauges() -> None:
    assert list(QueueCollector(lambda: None).collect()) == []


def test_an_empty_queue_is_zero_seconds_old(isolated_env: Path) -> None:
    isolated_env.mkdir(parents=True, exist_ok=True)
    queue = LocalQueue(isolated_env / "queue.sqlite3")
    assert oldest_age(queue.backlog(), queue.clock()) == 0.0
