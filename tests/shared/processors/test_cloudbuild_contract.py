"""Deploy to staging through Cloud Build: a contract test of our use of the official
`google-cloud-build` client (REST transport) against a local stand-in of the API, which has
no emulator. The exact requests are asserted, then the exactly-once figure: 100 pushes,
each delivered twice, through 503s and lost completion writes, start exactly 100 builds."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cloudevents.http import CloudEvent

from functions.processors import registry
from shared import (
    BackendUnavailable,
    ClaimInProgress,
    Delivery,
    MemoryPublisher,
    Observer,
    ProcessorsFailed,
    RunReport,
    Runtime,
    reload_settings,
)
from shared._delivery import message_published_event
from shared.backends.idempotency import IdempotencyRecord, IdempotencyStore, MemoryStore
from shared.backends.idempotency._store import Version
from shared.processors.deploy_staging import default_branch_push, delivery_tag
from tests.support.cloudbuild_standin import CloudBuildStandIn

PROJECT = "runrun-staging"
REGION = "europe-west1"
SHA = "59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"


@pytest.fixture
def standin(monkeypatch: pytest.MonkeyPatch) -> Iterator[CloudBuildStandIn]:
    server = CloudBuildStandIn(triggers={"deploy-hello", "deploy-api"}, forbidden={"locked"})
    server.start()
    monkeypatch.setenv("RUNRUN_STORE", "memory")
    monkeypatch.setenv("RUNRUN_CLOUDBUILD_ENDPOINT", server.endpoint)
    monkeypatch.setenv("RUNRUN_CLOUDBUILD_PROJECT", PROJECT)
    monkeypatch.setenv("RUNRUN_CLOUDBUILD_REGION", REGION)
    monkeypatch.setenv(
        "RUNRUN_CLOUDBUILD_TRIGGERS",
        "octo-org/hello-world=deploy-hello,octo-org/api=deploy-api,octo-org/locked=locked,"
        "octo-org/gone=no-such-trigger",
    )
    reload_settings()
    yield server
    server.stop()


class Runs(Observer):
    """What the observers hear of each processor run (the inspector records the same)."""

    def __init__(self) -> None:
        self.reports: list[RunReport] = []

    def run(self, report: RunReport) -> None:
        self.reports.append(report)


RuntimeFactory = Callable[..., Runtime]


@pytest.fixture
def make_runtime(standin: CloudBuildStandIn) -> Iterator[RuntimeFactory]:
    """Runtimes on the settings of the moment, the project's processors and a memory store."""
    built: list[Runtime] = []

    def make(
        store: IdempotencyStore | None = None, observers: tuple[Observer, ...] = ()
    ) -> Runtime:
        runtime = Runtime(
            reload_settings(),
            processors=registry,
            publisher=MemoryPublisher(),
            store=store or MemoryStore(),
            observers=observers,
        )
        built.append(runtime)
        return runtime

    yield make
    for runtime in built:
        runtime.stop()


@pytest.fixture
def runtime(make_runtime: RuntimeFactory) -> Runtime:
    return make_runtime()


def push(repo: str = "octo-org/hello-world", ref: str = "refs/heads/main", **extra: Any) -> bytes:
    body = {
        "ref": ref,
        "after": SHA,
        "deleted": False,
        "repository": {"full_name": repo, "default_branch": "main"},
        **extra,
    }
    return json.dumps(body).encode()


def event(body: bytes, delivery_id: str) -> CloudEvent:
    delivery = Delivery("github_webhook", delivery_id, "push", "application/json", "", body)
    attributes, data = message_published_event(
        project="p", topic="t", message_id=delivery_id, publish_time="", delivery=delivery
    )
    return CloudEvent(attributes, data)


def test_a_default_branch_push_lists_then_runs_the_trigger_on_its_commit(
    standin: CloudBuildStandIn, make_runtime: RuntimeFactory
) -> None:
    delivery_id = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    runs = Runs()
    make_runtime(observers=(runs,)).process(event(push(), delivery_id))

    tag = f"delivery-{delivery_id}"
    listing, run = standin.calls
    assert (listing.method, listing.path) == ("GET", f"/v1/projects/{PROJECT}/builds")
    assert listing.query == {
        "parent": [f"projects/{PROJECT}/locations/{REGION}"],
        "filter": [f'tags="{tag}"'],
        "pageSize": ["1"],
        "$alt": ["json;enum-encoding=int"],
    }
    assert (run.method, run.path) == ("POST", f"/v1/projects/{PROJECT}/triggers/deploy-hello:run")
    assert run.query == {
        "name": [f"projects/{PROJECT}/locations/{REGION}/triggers/deploy-hello"],
        "$alt": ["json;enum-encoding=int"],
    }
    assert run.body == {
        "projectId": PROJECT,
        "commitSha": SHA,
        "substitutions": {"_RUNRUN_DELIVERY": tag},
    }
    assert [b["tags"] for b in standin.builds] == [[tag]]
    # The build id reaches the observers (the inspector shows it), and nothing more.
    deploy = [r for r in runs.reports if r.processor == "deploy-staging"]
    assert [(r.outcome, r.note) for r in deploy] == [("ran", f"build {standin.builds[0]['id']}")]


def test_each_repository_runs_its_own_trigger(standin: CloudBuildStandIn, runtime: Runtime) -> None:
    runtime.process(event(push("octo-org/api"), "d-api"))
    runtime.process(event(push("octo-org/unmapped"), "d-other"))
    assert [c.path.rsplit("/", 1)[1] for c in standin.runs()] == ["deploy-api:run"]


@pytest.mark.parametrize(
    "body",
    [
        push(ref="refs/heads/feature"),
        push(ref="refs/tags/v1.0.0"),
        push(deleted=True, after="0" * 40),
        b'{"zen": "Design for failure."}',
    ],
    ids=["other branch", "tag", "deletion", "not a push"],
)
def test_other_pushes_deploy_nothing(
    standin: CloudBuildStandIn, runtime: Runtime, body: bytes
) -> None:
    runtime.process(event(body, str(uuid.uuid4())))
    assert standin.calls == []


def test_push_parsing_refuses_a_tag_named_like_the_branch() -> None:
    assert default_branch_push(json.loads(push(ref="refs/tags/main"))) is None
    assert default_branch_push(json.loads(push())) is not None


@pytest.mark.parametrize("repo", ["octo-org/locked", "octo-org/gone"])
def test_permission_denied_and_not_found_fail_for_good_without_a_retry(
    standin: CloudBuildStandIn, runtime: Runtime, repo: str, caplog: pytest.LogCaptureFixture
) -> None:
    delivery_id = str(uuid.uuid4())
    runtime.process(event(push(repo), delivery_id))  # no exception: no retry
    runtime.process(event(push(repo), delivery_id))  # the redelivery is skipped
    assert len(standin.runs()) == 1
    reasons = [getattr(r, "reason", "") for r in caplog.records]
    expected = "PERMISSION_DENIED" if repo.endswith("locked") else "NOT_FOUND"
    assert any(expected in reason for reason in reasons), reasons


def test_unavailable_goes_back_to_the_queue(standin: CloudBuildStandIn, runtime: Runtime) -> None:
    standin.fail_first = 1
    delivery_id = str(uuid.uuid4())
    with pytest.raises(ProcessorsFailed) as failed:
        runtime.process(event(push(), delivery_id))
    assert failed.value.failures == {"deploy-staging": "ServiceUnavailable"}
    runtime.process(event(push(), delivery_id))  # the queue's retry
    assert len(standin.builds) == 1


def test_a_build_already_tagged_with_the_delivery_is_not_started_again(
    standin: CloudBuildStandIn, make_runtime: RuntimeFactory
) -> None:
    delivery_id = str(uuid.uuid4())
    make_runtime().process(event(push(), delivery_id))
    # The completion was lost: a runtime with a fresh store sees the delivery as never
    # processed.
    make_runtime().process(event(push(), delivery_id))
    assert len(standin.runs()) == 1
    assert len([c for c in standin.calls if c.path.endswith("/builds")]) == 2


def test_unsafe_delivery_ids_become_a_digest_tag() -> None:
    assert delivery_tag("abc-123") == "delivery-abc-123"
    tag = delivery_tag("id with spaces/and=signs")
    assert tag.startswith("delivery-") and len(tag) == len("delivery-") + 40


class LosesCompletions(MemoryStore):
    """Fails the completion write of the deploy processor for the chosen deliveries, once."""

    def __init__(self, doomed: set[str]) -> None:
        super().__init__()
        self.doomed = doomed
        self.lost = 0

    def replace(self, record: IdempotencyRecord, expected: Version) -> Version | None:
        for delivery_id in list(self.doomed):
            if record.status == "completed" and record.key.endswith(
                f":{delivery_id}:deploy-staging"
            ):
                self.doomed.discard(delivery_id)
                self.lost += 1
                raise BackendUnavailable("completion write lost", 1)
        return super().replace(record, expected)


def test_figure_100_pushes_delivered_twice_start_exactly_100_builds(
    standin: CloudBuildStandIn, make_runtime: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [str(uuid.uuid4()) for _ in range(100)]
    store = LosesCompletions(set(ids[10:15]))
    monkeypatch.setenv("RUNRUN_LEASE_SECONDS", "1")  # a lost completion's claim frees soon
    runtime = make_runtime(store)
    standin.fail_first = 10
    # The queue: every delivery twice; a failed one goes to the back and is delivered again.
    queue = [delivery_id for delivery_id in ids for _ in range(2)]
    attempts = failures = 0
    while queue:
        delivery_id = queue.pop(0)
        attempts += 1
        try:
            runtime.process(event(push(), delivery_id))
        except ClaimInProgress:
            queue.append(delivery_id)
            if all(q == delivery_id or q in store.doomed for q in queue):
                time.sleep(0.2)  # only claims waiting for their lease are left
        except Exception:  # noqa: BLE001 - 503 from Cloud Build, lost completion: redelivered
            failures += 1
            queue.append(delivery_id)
    builds = standin.builds
    print(
        f"\n[cloudbuild figure] pushes=100 deliveries=200 attempts={attempts} "
        f"failed_attempts={failures} completions_lost={store.lost} builds={len(builds)}"
    )
    assert store.lost == 5
    assert len(builds) == 100
    assert sorted(b["tags"][0] for b in builds) == sorted(delivery_tag(i) for i in ids)
