"""Both plans against the model project (tests/support/gcloud_double), from an empty project, in
both modes, with every optional processor configured: the setup stops at the secrets until
they have versions, then passes, and a run after that changes nothing; the per-commit
deploy, as the build account, passes twice and its second run changes nothing but the image
it deploys. Then the final state: the service's settings, the subscriptions' dead letters
and expiry, the queue's retry policy, who holds which role."""

from __future__ import annotations

import pytest

from runrun.deploy._build_roles import FORBIDDEN
from tests.support.deploy_scenarios import (
    EVERYTHING,
    PROJECT,
    TASKS,
    TRIGGER_ACCOUNT,
    Outcome,
    scenario,
)

BUILD = f"serviceAccount:runrun-build@{PROJECT}.iam.gserviceaccount.com"
RUNTIME = f"serviceAccount:runrun-runtime@{PROJECT}.iam.gserviceaccount.com"
PUSH = f"runrun-push@{PROJECT}.iam.gserviceaccount.com"


@pytest.fixture
def outcome(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    # Each scenario runs once per session, whichever test asks first.
    return scenario(request.param, tmp_path_factory.mktemp(request.param))[1]


def scenarios(*names: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("outcome", names, indirect=True)


@scenarios("run", "functions", "run-events", "functions-events")
def test_both_plans_run_twice_and_the_second_run_changes_nothing(outcome: Outcome) -> None:
    first, second, third = outcome.setups
    if outcome.model.state["secrets"]:
        assert first.returncode == 1 and "has no version; add one" in first.stderr
    assert second.returncode == 0, second.stderr[-3000:]
    assert third.returncode == 0 and third.changes == [], third.changes
    assert third.refusals == [c for c in third.refusals if "NOT_FOUND" not in c] == []
    deploy, again = outcome.deploys
    assert deploy.returncode == 0, deploy.stderr[-3000:]
    assert again.returncode == 0, again.stderr[-3000:]
    # A new build deploys a new image; nothing else changes.
    assert all(" deploy " in c and "--image=" in c for c in again.changes), again.changes
    # Every build ran as the build account.
    builds = outcome.model.state["builds"]
    assert builds and {b["account"] for b in builds} == {BUILD.split(":")[1]}


@scenarios("run")
def test_the_service_carries_every_setting(outcome: Outcome) -> None:
    service = outcome.model.state["services"]["runrun"]
    assert service["invoker-iam-check"] is False  # public without allUsers
    assert "services/runrun" not in outcome.model.state["iam"]
    assert service["service-account"] == RUNTIME.split(":")[1]
    assert (service["cpu-boost"], service["min-instances"], service["max-instances"]) == (
        True,
        "0",
        "100",
    )
    assert (service["memory"], service["concurrency"]) == ("512Mi", "80")
    assert service["timeout"] == "600"  # raised to the tasks' dispatch deadline
    env = service["env"]
    for name, value in EVERYTHING.items():
        if name != "RUNRUN_NOTIFY_ROUTES":  # a secret, mounted
            assert env[name] == value, name
    assert env["RUNRUN_TARGET_QUEUES"] == TASKS["RUNRUN_TARGET_QUEUES"]
    url = "https://runrun-123456789012.europe-west1.run.app"
    assert env["RUNRUN_TASKS_URL"] == f"{url}/process_delivery"
    assert env["RUNRUN_TASKS_QUEUE"] == f"projects/{PROJECT}/locations/europe-west1/queues/orders"
    reported = "https://runrun-a1b2c3d4e5-ew.a.run.app"  # the model's status.url
    assert env["PUSH_AUDIENCE"] == f"runrun-push,{url},{reported}"
    assert env["PUSH_SERVICE_ACCOUNT"] == PUSH
    assert "RUNRUN_NOTIFY_ROUTES" in service["secrets"]


@scenarios("run", "functions", "run-events", "functions-events")
def test_every_subscription_is_dead_lettered_never_expires_and_is_watched(outcome: Outcome) -> None:
    state = outcome.model.state
    subscriptions = state["subscriptions"]
    assert subscriptions
    for name, sub in subscriptions.items():
        assert sub["expiration-period"] == "never", name
        if name.endswith("-dead-letters"):
            assert sub["message-retention-duration"] == "31d", name
            title = f"runrun:{name}"
            assert title in state["policies"], name
            assert f'subscription_id="{name}"' in state["policies"][title]["filter"]
        else:
            assert sub["dead-letter-topic"].endswith("-dead-letters"), name
            assert sub["dead-letter-topic"] in state["topics"]
            agent = (
                f"serviceAccount:service-{state['number']}@gcp-sa-pubsub.iam.gserviceaccount.com"
            )
            assert agent in state["iam"][f"subscriptions/{name}"]["roles/pubsub.subscriber"]
            assert (
                agent
                in state["iam"][f"topics/{sub['dead-letter-topic']}"]["roles/pubsub.publisher"]
            )


@scenarios("run")
def test_the_queue_retries_for_a_day_and_logs_every_attempt(outcome: Outcome) -> None:
    queue = outcome.model.state["queues"]["orders"]
    assert int(queue["max-attempts"]) >= 150 and queue["max-backoff"] == "600s"
    assert queue["log-sampling-ratio"] == "1.0" and queue["max-retry-duration"] == "0s"
    assert (
        outcome.model.state["services"]["runrun"]["env"]["RUNRUN_QUEUE_MAX_ATTEMPTS"]
        == queue["max-attempts"]
    )
    assert RUNTIME in outcome.model.state["iam"]["queues/orders"]["roles/cloudtasks.enqueuer"]
    assert (
        RUNTIME
        in outcome.model.state["iam"]["topics/process_delivery-dead-letters"][
            "roles/pubsub.publisher"
        ]
    )


@scenarios("run", "functions")
def test_who_holds_which_role(outcome: Outcome) -> None:
    model = outcome.model
    build = model.roles_of(BUILD)
    held = {role for roles in build.values() for role in roles}
    assert not held & set(FORBIDDEN)
    assert "roles/iam.serviceAccountUser" not in build.get(f"projects/{PROJECT}", [])
    assert build[f"serviceAccounts/{RUNTIME.split(':')[1]}"] == ["roles/iam.serviceAccountUser"]
    runtime = model.roles_of(RUNTIME)
    assert runtime[f"projects/{PROJECT}"] == [
        "roles/cloudbuild.builds.editor",  # RUNRUN_CLOUDBUILD_TRIGGERS is configured
        "roles/datastore.user",
        "roles/firebasecloudmessaging.admin",
    ]
    assert runtime[f"serviceAccounts/{TRIGGER_ACCOUNT}"] == ["roles/iam.serviceAccountUser"]
    assert runtime["datasets/acme:webhooks"] == ["roles/bigquery.dataEditor"]
    assert "roles/bigquery.jobUser" not in str(runtime)
    topics = {r.split("/", 1)[1] for r, roles in runtime.items() if r.startswith("topics/")}
    assert {"webhook-deliveries", "deploy-commands"} <= topics


@scenarios("run-events", "functions-events")
def test_a_plain_functions_project_gets_its_functions_triggers_and_accounts_only(
    outcome: Outcome,
) -> None:
    state = outcome.model.state
    assert state["firestore"] is None and state["secrets"] == {} and state["queues"] == {}
    runtime = outcome.model.roles_of(RUNTIME)
    assert runtime == {}  # a plain project's code needs no role of the plan's
    topics = set(state["topics"])
    assert {"orders", "invoices", "on_anything"} <= topics
    assert "webhook-deliveries" not in topics


@scenarios("run-events")
def test_eventarc_triggers_are_made_after_the_service_and_retried_once(outcome: Outcome) -> None:
    state = outcome.model.state
    trigger = state["triggers"]["runrun-on-upload"]
    assert trigger["destination"] == {"service": "runrun", "path": "/on_upload"}
    assert trigger["serviceAccount"] == PUSH
    second = outcome.setups[0]
    assert "attempt 1 failed; retrying" in second.stderr + outcome.setups[1].stderr
