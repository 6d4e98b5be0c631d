"""The plans as written: everything created describe-or-create, nothing lost (every event
function retried, every subscription dead-lettered into a readable place), event targets
wired from `[tool.runrun.triggers]`, the build account's roles. What running them does is
tests/runrun/deploy/test_runrun_deploy_model.py's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runrun import Target, discover
from runrun.deploy._build_roles import UnmappedCommandError, build_roles, roles_for
from runrun.deploy._gcloud_check import gcloud_commands
from runrun.deploy._triggers import TriggerConfigError, is_event, triggers
from tests.support.deploy_scenarios import EVENTS, ROOT, make_plans
from tests.support.runrun_scenarios import corpus

EVENT = "event"


def event_targets() -> tuple[Target, ...]:
    """The scenario's targets; `on_order` has no decorator and is typed `event` by the
    scenario's pyproject.toml."""
    targets = discover(EVENTS / "events_main.py").targets
    assert {t.name: t.signature_type for t in targets}["on_order"] == EVENT
    return targets


def calls(lines: list[str]) -> list[list[str]]:
    return [words for line in lines for words in gcloud_commands(line)]


def delivery_guards_missing(lines: list[str], event_names: set[str]) -> list[str]:
    """What would lose or endlessly retry an event: an event function deployed without
    --retry, a subscription made or updated without dead-letter settings, an event target
    whose delivering subscription never gets a dead-letter policy."""
    problems = []
    dead_lettered = set()
    for words in calls(lines):
        if words[:2] == ["functions", "deploy"] and words[2] in event_names:
            if "--retry" not in words:
                problems.append(f"{words[2]}: deployed without --retry")
        if words[:2] == ["pubsub", "subscriptions"] and words[2] in ("create", "update"):
            name = words[3]
            if name.endswith("-dead-letters"):
                continue  # the dead-letter subscription itself: read by people
            flags = {w.split("=", 1)[0]: w.partition("=")[2] for w in words if w.startswith("--")}
            topic = flags.get("--dead-letter-topic", "")
            if not topic or not flags.get("--max-delivery-attempts"):
                problems.append(f"subscription {name}: {words[2]} without dead-letter settings")
            dead_lettered.add(topic.removesuffix("-dead-letters"))
    problems += [f"{n}: no dead-letter policy" for n in sorted(event_names - dead_lettered)]
    return problems


@pytest.mark.parametrize("mode", ["run", "functions"])
@pytest.mark.parametrize("source", [ROOT / "main.py", EVENTS / "events_main.py"])
def test_no_event_is_lost_or_retried_forever(mode: str, source: Path) -> None:
    plans = make_plans(mode, source)
    fed = plans.settings.needs.event_topics
    names = {t.name for t in plans.targets if is_event(t, fed)}
    assert names
    assert delivery_guards_missing(plans.lines, names) == []


def test_the_guard_test_fails_without_retry_or_dead_letter_settings() -> None:
    names = {"process_delivery"}
    functions = make_plans("functions", ROOT / "main.py").lines
    without_retry = [line.replace(" --retry", "") for line in functions]
    assert delivery_guards_missing(without_retry, names) == [
        "process_delivery: deployed without --retry"
    ]
    run = make_plans("run", ROOT / "main.py").lines
    without_dlq = [re.sub(r" --max-delivery-attempts=\d+", "", line) for line in run]
    assert len(delivery_guards_missing(without_dlq, names)) == 2  # create and update


IDEMPOTENT = {("beta", "services", "identity"), ("alpha", "monitoring", "policies")}


@pytest.mark.parametrize("mode", ["run", "functions"])
def test_every_create_is_guarded_by_a_describe(mode: str) -> None:
    """Idempotent: a second run finds each resource and creates nothing."""
    for line in make_plans(mode, EVENTS / "events_main.py").setup.splitlines():
        found = list(gcloud_commands(line))
        for words in found:
            if "create" in words[:4] and tuple(words[:3]) not in IDEMPOTENT:
                noun = words[: words.index("create")]
                # An account is created by its id and described by its email.
                name = found[0][len(noun) + 1].split("@")[0]
                assert found[0][: len(noun) + 1] == [*noun, "describe"], line
                assert name == words[len(noun) + 1], line


def test_an_empty_project_gets_everything_in_order() -> None:
    lines = make_plans("run", ROOT / "main.py").setup.splitlines()

    def first(pattern: str) -> int:
        return next(i for i, line in enumerate(lines) if re.search(pattern, line))

    for api in (
        "run",
        "pubsub",
        "firestore",
        "secretmanager",
        "cloudbuild",
        "artifactregistry",
        "iam",
    ):
        assert f"{api}.googleapis.com" in lines[first(r"^gcloud services enable")]
    order = [
        "services enable",
        "services identity create --service=pubsub",
        "service-accounts create runrun-build",
        "artifacts repositories create",
        "firestore databases create",
        "ttls update expire_at",
        "--role=roles/iam.serviceAccountTokenCreator",
        "subscriptions create process_delivery-dead-letters",
        "MISSING_SECRETS:-",
        "builds submit",
        "--no-invoker-iam-check",
        "subscriptions create runrun-process_delivery-push",
    ]
    assert [first(re.escape(step)) for step in order] == sorted(first(re.escape(s)) for s in order)
    text = "\n".join(lines)
    assert "roles/editor" not in text and "roles/owner" not in text
    for name in ("GITHUB_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"):
        assert f"gcloud secrets create {name} --replication-policy=automatic" in text
        assert f"gcloud secrets versions add {name} --data-file=-" in text


def test_cloud_build_access_follows_the_triggers_project_and_account() -> None:
    builder = "deployer@ci-acme.iam.gserviceaccount.com"
    env = {
        "RUNRUN_CLOUDBUILD_TRIGGERS": "acme/app=t-1",
        "RUNRUN_CLOUDBUILD_PROJECT": "ci-acme",
        "RUNRUN_CLOUDBUILD_SERVICE_ACCOUNT": builder,
    }
    text = make_plans("run", ROOT / "main.py", env).setup
    assert re.search(
        r"projects add-iam-policy-binding ci-acme \S+runrun-runtime@acme\S+ "
        r"--role=roles/cloudbuild.builds.editor",
        text,
    )
    assert re.search(
        f"service-accounts add-iam-policy-binding {re.escape(builder)} "
        r"\S+runrun-runtime@acme\S+ --role=roles/iam.serviceAccountUser",
        text,
    )
    # A team with its own deployer (the command topic) grants Cloud Build nothing.
    topic_only = make_plans("run", ROOT / "main.py", {**env, "RUNRUN_DEPLOY_VIA": "topic"}).setup
    assert "cloudbuild.builds" not in topic_only


def test_functions_mode_wires_topics_and_eventarc_events_with_retry() -> None:
    plans = make_plans("functions", EVENTS / "events_main.py")
    deploys = {w[2]: w for w in calls(plans.step) if w[:2] == ["functions", "deploy"]}
    assert set(deploys) == {"on_order", "on_invoice", "on_upload", "on_anything", "hook"}
    assert "--trigger-topic=orders" in deploys["on_order"]
    assert "--trigger-topic=invoices" in deploys["on_invoice"]
    assert "--trigger-topic=on_anything" in deploys["on_anything"]
    upload = deploys["on_upload"]
    assert "--trigger-event-filters=type=google.cloud.storage.object.v1.finalized" in upload
    assert "--trigger-event-filters=bucket=acme-uploads" in upload
    assert "--trigger-location=us" in upload
    for name in ("on_order", "on_invoice", "on_upload", "on_anything"):
        assert "--retry" in deploys[name]
        assert "--trigger-service-account=runrun-push@acme.iam.gserviceaccount.com" in deploys[name]
    assert "--trigger-http" in deploys["hook"] and "--retry" not in deploys["hook"]
    text = plans.setup
    assert "STORAGE_AGENT=$(gcloud storage service-agent --project=acme)" in text
    assert "--role=roles/eventarc.eventReceiver" in text
    for topic in ("orders", "invoices", "on_anything", "on_upload-dead-letters"):
        assert f"gcloud pubsub topics create {topic} " in text


def test_run_mode_routes_each_event_target_to_its_path() -> None:
    plans = make_plans("run", EVENTS / "events_main.py")
    url = "https://runrun-${PROJECT_NUMBER}.europe-west1.run.app"
    for name, topic in (("on_order", "orders"), ("on_invoice", "invoices")):
        create = next(
            w for w in calls(plans.lines)
            if w[:3] == ["pubsub", "subscriptions", "create"] and w[3] == f"runrun-{name}-push"
        )  # fmt: skip
        assert f"--topic={topic}" in create
        assert f"--push-endpoint={url}/{name}" in create
    [eventarc] = [w for w in calls(plans.lines) if w[:3] == ["eventarc", "triggers", "create"]]
    assert eventarc[3] == "runrun-on-upload"
    for flag in (
        "--destination-run-service=runrun",
        "--destination-run-path=/on_upload",
        "--event-filters=type=google.cloud.storage.object.v1.finalized",
        "--event-filters=bucket=acme-uploads",
        "--location=us",
        "--service-account=runrun-push@acme.iam.gserviceaccount.com",
    ):
        assert flag in eventarc
    assert "--dead-letter-topic=on_upload-dead-letters" in plans.setup
    assert not any(w[:2] == ["functions", "deploy"] for w in calls(plans.lines))


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('nope = { topic = "t" }', "'nope' is not a target of the source"),
        ('hook = { topic = "t" }', "'hook' is an HTTP target"),
        ('on_invoice = { topic = "t", event = "e" }', "exactly one of `topic`"),
        ("on_invoice = {}", "exactly one of `topic`"),
        ('on_invoice = { topic = "t", queue = "q" }', "unknown key(s) queue"),
        ('on_invoice = { topic = "t", location = "us" }', "go with `event`"),
        ('on_invoice = { event = "e", filters = { type = "x" } }', "as `event`, not a filter"),
        ('on_invoice = { event = "e", filters = { bucket = 3 } }', "must map names to strings"),
        ('on_invoice = "invoices"', "must be a table"),
    ],
)
def test_bad_trigger_declarations_are_refused_by_name(
    tmp_path: Path, table: str, message: str
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.runrun.triggers]\n{table}\n")
    with pytest.raises(TriggerConfigError) as caught:
        triggers(event_targets(), pyproject)
    assert message in str(caught.value)
    assert str(pyproject) in str(caught.value)


def test_build_roles_cover_every_per_commit_command_and_the_deploy_page_lists_them() -> None:
    for mode in ("run", "functions"):
        roles = build_roles(make_plans(mode, ROOT / "main.py").step)
        assert "roles/logging.logWriter" in roles and "roles/editor" not in roles
    with pytest.raises(UnmappedCommandError):
        roles_for(["compute", "instances", "create", "vm"])
    page = (corpus.ROOT / "docs" / "deploy.md").read_text()
    section = page.split("<!-- build-roles -->")[1].split("<!-- /build-roles -->")[0]
    run = build_roles(make_plans("run", ROOT / "main.py").step)
    functions = build_roles(make_plans("functions", ROOT / "main.py").step)
    assert sorted(set(re.findall(r"roles/[\w.]+", section))) == sorted({*run, *functions})


def test_a_library_hands_its_needs_as_plain_values() -> None:
    """What a library contributes can be returned without importing runrun."""
    from runrun.deploy import DeployNeeds, QueueNeeds

    plain = {
        "apis": ["firestore.googleapis.com"],
        "secrets": {"hook": ["HOOK_SECRET"]},
        "env": {"A": "1"},
        "project_roles": [["acme", "roles/datastore.user"]],
        "firestore_ttl": ["keys", "expire_at"],
        "queue": {"queue": "q", "rate": 5.0},
    }
    needs = DeployNeeds.from_mapping(plain)
    assert needs == DeployNeeds(
        apis=("firestore.googleapis.com",),
        secrets={"hook": ("HOOK_SECRET",)},
        env={"A": "1"},
        project_roles=(("acme", "roles/datastore.user"),),
        firestore_ttl=("keys", "expire_at"),
        queue=QueueNeeds(queue="q", rate=5.0),
    )
    assert DeployNeeds.from_mapping(needs) is needs
    with pytest.raises(ValueError, match="unknown deploy needs: topicz"):
        DeployNeeds.from_mapping({"topicz": ["t"]})
