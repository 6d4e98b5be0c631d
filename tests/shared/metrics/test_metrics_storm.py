"""`/_runrun/metrics` through a real `runrun serve` with three worker processes: after a storm
of deliveries signed as each provider signs (GitHub's documented HMAC, Stripe's and Standard
Webhooks' own SDKs), some with bad signatures, some duplicates, some for a processor that
always fails, the counters equal what was sent, per target and outcome, and the processor
runs and dead letters equal what the queue did. The endpoint needs its token; off, it is not
there and no metrics library is imported.

The counts are read with prometheus-client's own parser of the text format.
"""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import standardwebhooks
import stripe
from prometheus_client.parser import text_string_to_metric_families

from tests.support.pubsub_util import github_headers
from tests.support.runrun_scenarios.corpus import ROOT, Answer
from tests.support.runrun_scenarios.processes import Server, base_env, runrun

SOURCE = ROOT / "tests" / "support" / "metrics_scenario_main.py"
TOKEN = "metrics-test-token-5f1e"
GITHUB_SECRET = "metrics-github-secret"
STRIPE_SECRET = "whsec_metricsstripesecret"
STANDARD_SECRET = "whsec_" + "bWV0cmljcy1zdGFuZGFyZC1zZWNyZXQtMzJieXRlcyE="
WRONG_STANDARD_SECRET = "whsec_" + "d3JvbmctZW5kcG9pbnQtc2VjcmV0LTMyYnl0ZXMhIQ=="
SECRETS = {
    "GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
    "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
    "STANDARD_WEBHOOK_SECRET": STANDARD_SECRET,
}
MAX_ATTEMPTS = 2
Request = tuple[str, dict[str, str], bytes]  # path, headers, body
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]  # (name, labels) -> value


def _server(
    folder: Path, name: str, workers: int, server: str = "granian", **extra: str
) -> Iterator[Server]:
    env = base_env(
        folder / "state",
        PYTHONPATH=str(ROOT),
        RUNRUN_STORE="sqlite",
        RUNRUN_QUEUE="local",
        RUNRUN_PROCESSORS="tests.support.metrics_scenario_main:registry",
        RUNRUN_QUEUE_MAX_ATTEMPTS=str(MAX_ATTEMPTS),
        RUNRUN_QUEUE_MIN_BACKOFF_SECONDS="0.05",
        RUNRUN_QUEUE_MAX_BACKOFF_SECONDS="0.1",
        **SECRETS,
        **extra,
    )
    process = runrun(name, SOURCE, env, folder, "--workers", str(workers), "--server", server)
    try:
        yield process.wait_ready("/_runrun/health")
    finally:
        process.stop()


@pytest.fixture(scope="module", params=["granian", "gunicorn"])
def metered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Three worker processes of either server, each counting into the shared directory."""
    folder = tmp_path_factory.mktemp(f"metrics-on-{request.param}")
    on = {"RUNRUN_METRICS": "1", "RUNRUN_METRICS_TOKEN": TOKEN}
    yield from _server(folder, f"metered-{request.param}", 3, request.param, **on)


# --- the senders -----------------------------------------------------------------------


def github(event: str, *, secret: str = GITHUB_SECRET) -> Request:
    delivery = str(uuid.uuid4())
    body = json.dumps({"zen": "metrics", "hook_id": 1, "n": delivery}).encode()
    return "/github_webhook", github_headers(body, delivery, event, secret), body


def stripe_event(event_id: str, *, secret: str = STRIPE_SECRET) -> Request:
    body = json.dumps({"id": event_id, "type": "invoice.paid", "object": "event"}).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=int(time.time())
    )
    headers = {"Content-Type": "application/json", "Stripe-Signature": header}
    return "/stripe_webhook", headers, body


def standard(*, secret: str = STANDARD_SECRET) -> Request:
    msg_id = f"msg_{uuid.uuid4().hex}"
    body = json.dumps({"type": "user.created", "data": {"id": msg_id}}).encode()
    now = datetime.datetime.now(tz=datetime.UTC).replace(microsecond=0)
    signature = standardwebhooks.Webhook(secret).sign(msg_id, now, body.decode())
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
    return "/standard_webhook", headers, body


def send_all(server: Server, requests: list[Request]) -> list[Answer]:
    def send(request: Request) -> Answer:
        path, headers, body = request
        return server.request("POST", path, tuple(headers.items()), body)

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(send, requests))


# --- reading the endpoint ----------------------------------------------------------------


def scrape(server: Server, token: str | None = TOKEN) -> Samples:
    headers = (("Authorization", f"Bearer {token}"),) if token else ()
    answer = server.request("GET", "/_runrun/metrics", headers)
    assert answer.status == 200, answer
    samples = {}
    for family in text_string_to_metric_families(answer.body.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def series(samples: Samples, name: str) -> Counter[tuple[str, ...]]:
    """The samples named `name`, keyed by their label values in label-name order."""
    found: Counter[tuple[str, ...]] = Counter()
    for (sample, labels), value in samples.items():
        if sample == name:
            found[tuple(v for _, v in sorted(labels))] += int(value)
    return found


def wait_until(server: Server, done: Callable[[Samples], bool]) -> Samples:
    """Scrape until `done` holds (the queue's work is the event waited for; the 120 s are
    only a safety net against a hang)."""
    deadline = time.monotonic() + 120
    while True:
        samples = scrape(server)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


# --- the tests --------------------------------------------------------------------------


def test_storm_counts_equal_what_was_sent_per_target_and_outcome(metered: Server) -> None:
    originals = [stripe_event(f"evt_{uuid.uuid4().hex}") for _ in range(60)]
    storm = [
        *(github("push") for _ in range(60)),
        *(github("issues") for _ in range(10)),  # the `broken` processor fails on these
        *(github("push", secret="not-the-secret") for _ in range(10)),
        *originals,
        *(stripe_event(f"evt_{uuid.uuid4().hex}", secret="whsec_wrong") for _ in range(10)),
        *(standard() for _ in range(50)),
        *(standard(secret=WRONG_STANDARD_SECRET) for _ in range(10)),
    ]
    answers = send_all(metered, storm)
    # Duplicates of answered deliveries, as a provider's retries: replayed, not handed off.
    answers += send_all(metered, originals[:10])
    assert Counter(a.status for a in answers) == Counter({200: 190, 401: 30})

    expected_deliveries = Counter(
        {
            ("accepted", "", "github_webhook"): 70,
            ("rejected", "signature", "github_webhook"): 10,
            ("accepted", "", "stripe_webhook"): 60,
            ("replayed", "", "stripe_webhook"): 10,
            ("rejected", "signature", "stripe_webhook"): 10,
            ("accepted", "", "standard_webhook"): 50,
            ("rejected", "signature", "standard_webhook"): 10,
        }
    )
    expected_runs = Counter(
        {
            ("ran", "record"): 180,  # every delivery handed off, once
            ("skipped", "record"): 10,  # the retry of each `issues` delivery finds it done
            ("failed", "broken"): 10 * MAX_ATTEMPTS,
        }
    )

    def settled(samples: Samples) -> bool:
        return series(samples, "runrun_processor_runs_total") == expected_runs and series(
            samples, "runrun_queue_dead_letters"
        ) == Counter({(): 10})

    samples = wait_until(metered, settled)
    assert series(samples, "runrun_deliveries_total") == expected_deliveries
    assert series(samples, "runrun_processor_runs_total") == expected_runs
    assert series(samples, "runrun_queue_dead_letters") == Counter({(): 10})
    assert series(samples, "runrun_queue_depth") == Counter({(): 0})
    assert series(samples, "runrun_handoff_failures_total") == Counter()
    # Every request is in its target's latency histogram, and +Inf holds them all.
    assert series(samples, "runrun_receive_seconds_count") == Counter(
        {("github_webhook",): 80, ("stripe_webhook",): 80, ("standard_webhook",): 60}
    )
    inf = {k: v for k, v in series(samples, "runrun_receive_seconds_bucket").items() if "+Inf" in k}
    assert inf == {
        ("+Inf", "github_webhook"): 80,
        ("+Inf", "stripe_webhook"): 80,
        ("+Inf", "standard_webhook"): 60,
    }
    # Counted in more than one worker process, and added up by the scrape.
    shared = metered.env["RUNRUN_STATE_DIR"]
    files = list(Path(shared, "metrics").glob("*/counter_*.db"))
    assert len(files) > 1, files


def test_the_endpoint_needs_its_token(metered: Server) -> None:
    missing = metered.request("GET", "/_runrun/metrics")
    assert missing.status == 401
    assert dict(missing.headers).get("www-authenticate", "").startswith("Bearer")
    wrong = metered.request("GET", "/_runrun/metrics", (("Authorization", "Bearer nope"),))
    assert wrong.status == 401
    basic = metered.request("GET", "/_runrun/metrics", (("Authorization", f"Basic {TOKEN}"),))
    assert basic.status == 401
    right = metered.request("GET", "/_runrun/metrics", (("Authorization", f"Bearer {TOKEN}"),))
    assert right.status == 200
    assert dict(right.headers)["content-type"].startswith("text/plain; version=")
    post = metered.request("POST", "/_runrun/metrics", (("Authorization", f"Bearer {TOKEN}"),))
    assert post.status == 405


def test_metrics_on_load_prometheus_client_only(metered: Server) -> None:
    loaded = json.loads(metered.request("GET", "/loaded_metrics_modules").body)
    assert "prometheus_client" in loaded
    assert not [name for name in loaded if name.startswith("opentelemetry")]


def test_off_by_default_no_route_and_no_import(tmp_path: Path) -> None:
    for server in _server(tmp_path, "unmetered", 2):
        path, headers, body = github("push")
        assert server.request("POST", path, tuple(headers.items()), body).status == 200
        bearer = (("Authorization", f"Bearer {TOKEN}"),)
        assert server.request("GET", "/_runrun/metrics", bearer).status == 404
        assert json.loads(server.request("GET", "/loaded_metrics_modules").body) == []
        assert not (Path(server.env["RUNRUN_STATE_DIR"]) / "metrics").exists()
