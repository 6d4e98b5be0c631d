"""Ambiguous outcomes on the receiving side, through functions-framework's own app: a store
that is down, a create that landed but never answered, a completion that failed. Each time
the delivery is on the queue, the answer is 2xx, and a duplicate after that 2xx gets the
replay or a fresh 2xx, never a 409. Also the per-provider deadlines.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import flask
import functions_framework
import pytest

from shared import (
    BackendUnavailable,
    ConfigError,
    MemoryPublisher,
    Observer,
    Runtime,
    get_settings,
    install_runtime,
    reload_settings,
    stop_runtime,
)
from shared._observe import DeliveryReport
from shared.backends.idempotency import IdempotencyRecord, MemoryStore
from shared.backends.idempotency._store import Version
from tests.support.pubsub_util import SECRET, github_headers, push_body

ROOT = Path(__file__).resolve().parents[3]
DEADLINE = "0.6"  # github_webhook's deadline in these tests (its own would be 8 s)


class Outcomes(Observer):
    def __init__(self) -> None:
        self.seen: list[dict[str, object]] = []
        self.lock = threading.Lock()

    def delivery(self, report: DeliveryReport) -> None:
        with self.lock:
            self.seen.append(dict(report.details))

    def outcomes(self) -> list[object]:
        return [d.get("outcome") for d in self.seen]


class FaultyStore(MemoryStore):
    """A MemoryStore whose calls fail while `down` is set, in one of three ways:

    - "refused": nothing is done, and it says so (may_have_applied=False);
    - "timeout": writes land, but no answer comes back (may_have_applied=True), reads fail;
    - "complete": only completions fail, before they land.
    """

    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode
        self.down = True

    def _fail(self) -> None:
        raise BackendUnavailable(
            f"store {self.mode}", retry_after=1, may_have_applied=self.mode == "timeout"
        )

    def create(self, record: IdempotencyRecord) -> Version | None:
        if self.down and self.mode == "refused":
            self._fail()
        created = super().create(record)
        if self.down and self.mode == "timeout":
            self._fail()
        return created

    def get(self, doc_id: str) -> tuple[IdempotencyRecord, Version] | None:
        if self.down and self.mode in ("refused", "timeout"):
            self._fail()
        return super().get(doc_id)

    def replace(self, record: IdempotencyRecord, expected: Version) -> Version | None:
        if self.down and (self.mode != "complete" or record.status == "completed"):
            self._fail()
        return super().replace(record, expected)

    def delete(self, doc_id: str, expected: Version) -> bool:
        if self.down:
            self._fail()
        return super().delete(doc_id, expected)


@pytest.fixture(scope="module")
def github_app() -> flask.Flask:
    return functions_framework.create_app("github_webhook", source=str(ROOT / "main.py"))


@pytest.fixture(autouse=True)
def github_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK", DEADLINE)
    reload_settings()


@contextlib.contextmanager
def on(store: MemoryStore, publisher: MemoryPublisher | None = None) -> Iterator[Outcomes]:
    """Serve the block on a runtime with `store` and `publisher`; the outcomes observed."""
    outcomes = Outcomes()
    install_runtime(
        Runtime(
            get_settings(),
            store=store,
            publisher=publisher or MemoryPublisher(),
            observers=[outcomes],
            run_queue_worker=False,
        )
    )
    try:
        yield outcomes
    finally:
        stop_runtime()


def send(app: flask.Flask, delivery_id: str) -> flask.Response:
    body = push_body(ref="refs/heads/topic")
    headers = github_headers(body, delivery_id)
    return app.test_client().post("/", data=body, headers=headers)


def published(publisher: MemoryPublisher) -> list[str]:
    return [m.attributes["delivery_id"] for m in publisher.published]


@pytest.mark.parametrize("mode", ["refused", "timeout"])
def test_store_down_queue_up_is_accepted_unclaimed(github_app: flask.Flask, mode: str) -> None:
    store, publisher = FaultyStore(mode), MemoryPublisher()
    with on(store, publisher) as outcomes:
        delivery_id = str(uuid.uuid4())
        answer = send(github_app, delivery_id)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert answer.get_json() == {"status": "accepted", "delivery_id": delivery_id}
        assert published(publisher) == [delivery_id], "2xx only once the queue has it"
        assert outcomes.outcomes() == ["accepted_unclaimed"]
        assert outcomes.seen[0]["unclaimed"] == 1

        # The store is back. A duplicate after that 2xx is a fresh 2xx (published again,
        # the processor's claim absorbs it) or the replay, never a 409.
        store.down = False
        again = send(github_app, delivery_id)
        assert again.status_code == 200
        third = send(github_app, delivery_id)
        assert third.status_code == 200 and third.headers.get("Idempotent-Replayed") == "true"
        assert published(publisher) == [delivery_id, delivery_id]


def test_store_and_queue_down_is_503(github_app: flask.Flask) -> None:
    def refuse(message: object) -> str:
        raise BackendUnavailable("queue down", retry_after=4)

    publisher = MemoryPublisher(refuse)
    with on(FaultyStore("refused"), publisher) as outcomes:
        answer = send(github_app, str(uuid.uuid4()))
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "4"
        assert publisher.published == [] and publisher.attempts == 1
        assert outcomes.outcomes() == ["rejected"]


def test_a_timed_out_create_holds_the_2xx_until_its_lease_ends(github_app: flask.Flask) -> None:
    # The create landed but never answered, and the settle cannot read either: the record may
    # sit in progress. The 2xx waits for its lease (the deadline) to end, so a duplicate
    # sent after the 2xx takes the key over and is answered 2xx, never 409.
    store, publisher = FaultyStore("timeout"), MemoryPublisher()
    with on(store, publisher) as outcomes:
        delivery_id = str(uuid.uuid4())
        assert send(github_app, delivery_id).status_code == 200
        (record,) = [r for r in store.recent() or [] if r.key == delivery_id]
        assert record.status == "in_progress", "the create landed"
        store.down = False
        duplicate = send(github_app, delivery_id)
        assert duplicate.status_code == 200
        assert "Idempotent-Replayed" not in duplicate.headers
        assert outcomes.outcomes() == ["accepted_unclaimed", "accepted"]
        assert published(publisher) == [delivery_id, delivery_id]


def test_a_failed_completion_never_turns_a_duplicate_into_409(github_app: flask.Flask) -> None:
    store, publisher = FaultyStore("complete"), MemoryPublisher()
    with on(store, publisher) as outcomes:
        delivery_id = str(uuid.uuid4())
        first = send(github_app, delivery_id)
        assert first.status_code == 200
        duplicate = send(github_app, delivery_id)  # the store still fails completions
        assert duplicate.status_code == 200
        store.down = False
        assert send(github_app, delivery_id).status_code == 200
        replay = send(github_app, delivery_id)
        assert replay.headers.get("Idempotent-Replayed") == "true"
        assert outcomes.outcomes() == ["accepted", "accepted", "accepted", "replayed"]
        assert published(publisher) == [delivery_id] * 3


def test_a_concurrent_duplicate_waits_for_the_first_answer(github_app: flask.Flask) -> None:
    store, publisher = MemoryStore(), MemoryPublisher()
    release = threading.Event()
    entered = threading.Event()

    def slow(message: object) -> None:
        entered.set()
        release.wait(10)

    publisher.handler = slow  # type: ignore[assignment]
    with on(store, publisher):
        delivery_id = str(uuid.uuid4())
        first: list[flask.Response] = []
        thread = threading.Thread(target=lambda: first.append(send(github_app, delivery_id)))
        thread.start()
        assert entered.wait(10)
        threading.Timer(0.1, release.set).start()
        duplicate = send(github_app, delivery_id)  # waits, then replays: no 409
        thread.join(10)
        assert first[0].status_code == 200
        assert duplicate.status_code == 200
        assert duplicate.headers.get("Idempotent-Replayed") == "true"
        assert published(publisher) == [delivery_id]


# --- per-provider deadlines -----------------------------------------------------------------


def test_deadlines_follow_each_providers_answer_window(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK")
    settings = reload_settings()
    windows = {
        "github.GITHUB": 8.0,
        "slack.SLACK": 2.0,
        "zoom.ZOOM": 2.0,
        "graph.GRAPH": 2.0,
        "shopify.SHOPIFY": 4.0,
        "twilio.TWILIO": 12.0,
        "standard.STANDARD": 12.0,
        "stripe.STRIPE": 2.0,  # no documented window: RUNRUN_DEADLINE_SECONDS
    }
    for name, expected in windows.items():
        module, _, constant = name.partition(".")
        provider = getattr(importlib.import_module(f"shared.providers.{module}"), constant)
        deadline = settings.receive.deadline_for(provider.target, provider.answer_window_seconds)
        assert deadline == expected, name

    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS_SLACK_EVENTS", "1.5")
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS", "4")
    settings = reload_settings()
    assert settings.receive.deadline_for("slack_events", 3) == 1.5
    assert settings.receive.deadline_for("stripe_webhook", None) == 4.0
    assert settings.receive.deadline_for("github_webhook", 10) == 8.0


@pytest.mark.parametrize("value", ["soon", "0", "-2"])
def test_a_bad_deadline_override_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK", value)
    with pytest.raises(ConfigError, match="RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK"):
        reload_settings()
    monkeypatch.delenv("RUNRUN_DEADLINE_SECONDS_GITHUB_WEBHOOK")  # before the teardown reads it
