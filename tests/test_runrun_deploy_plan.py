"""Deploy plans on an empty project: everything created describe-or-create, nothing lost
(every event function retried, every subscription dead-lettered into a readable place),
event targets wired from `[tool.runrun.triggers]`, and cloudbuild.yaml's roles."""

from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

import pytest

from runrun import PlanSettings, Target, discover, plan
from runrun._build_roles import UnmappedCommandError, roles_for
from runrun._cloudbuild import deploy_roles
from runrun._deploy_project import dead_letter_subscription, dead_letter_topic
from runrun._discover import EVENT
from runrun._gcloud_check import gcloud_commands
from runrun._triggers import TriggerConfigError, is_event, triggers
from tests.runrun_scenarios import corpus

ROOT = corpus.ROOT
EVENTS = ROOT / "tests" / "runrun_scenarios" / "event_triggers"
SETTINGS = PlanSettings(project="acme", region="europe-west1")


def main_targets() -> tuple[Target, ...]:
    return discover(corpus.MAIN_SOURCE).targets


def event_targets() -> tuple[Target, ...]:
    """The scenario's targets; `on_order` has no decorator and is typed `event` by the
    scenario's pyproject.toml."""
    targets = discover(EVENTS / "events_main.py").targets
    assert {t.name: t.signature_type for t in targets}["on_order"] == EVENT
    return targets


def event_settings() -> PlanSettings:
    return dataclasses.replace(SETTINGS, pyproject=EVENTS / "pyproject.toml")


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
@pytest.mark.parametrize("scenario", ["main", "events"])
def test_no_event_is_lost_or_retried_forever(mode: str, scenario: str) -> None:
    targets, settings = (
        (main_targets(), SETTINGS) if scenario == "main" else (event_targets(), event_settings())
    )
    names = {t.name for t in targets if is_event(t)}
    assert names
    assert delivery_guards_missing(plan(mode, targets, settings), names) == []


def test_the_guard_test_fails_without_retry_or_dead_letter_settings() -> None:
    names = {"process_delivery"}
    functions = plan("functions", main_targets(), SETTINGS)
    without_retry = [line.replace(" --retry", "") for line in functions]
    assert delivery_guards_missing(without_retry, names) == [
        "process_delivery: deployed without --retry"
    ]
    run = plan("run", main_targets(), SETTINGS)
    without_dlq = [re.sub(r" --max-delivery-attempts=\d+", "", line) for line in run]
    assert len(delivery_guards_missing(without_dlq, names)) == 2  # create and update


def test_every_create_is_guarded_by_a_describe() -> None:
    """Idempotent: a second run finds each resource and creates nothing."""
    for mode in ("run", "functions"):
        for line in plan(mode, event_targets(), event_settings()):
            found = list(gcloud_commands(line))
            for words in found:
                if "create" in words[:4]:
                    noun = words[: words.index("create")]
                    # An account is created by its id and described by its email.
                    name = found[0][len(noun) + 1].split("@")[0]
                    assert found[0][: len(noun) + 1] == [*noun, "describe"], line
                    assert name == words[len(noun) + 1], line


def test_an_empty_project_gets_everything_in_order() -> None:
    lines = plan("run", main_targets(), SETTINGS)
    text = "\n".join(lines)

    def first(pattern: str) -> int:
        return next(i for i, line in enumerate(lines) if re.search(pattern, line))

    enable = shlex.split(lines[first(r"^gcloud services enable")])
    for api in (
        "run",
        "pubsub",
        "firestore",
        "secretmanager",
        "cloudbuild",
        "artifactregistry",
        "eventarc",
        "iam",
    ):
        assert f"{api}.googleapis.com" in enable
    assert first("services enable") < first("artifacts repositories create")
    assert first("artifacts repositories create") < first("builds submit") < first("run deploy")
    assert "--collection-group=idempotency_keys" in lines[first("ttls update expire_at")]
    assert "--enable-ttl" in lines[first("ttls update expire_at")]
    assert first("firestore databases create") < first("ttls update")
    # Least privilege: the runtime's own account, datastore.user, publisher on its topics only.
    assert "--service-account=runrun-runtime@acme.iam.gserviceaccount.com" in text
    assert re.search(
        r"projects add-iam-policy-binding acme \S+runrun-runtime@\S+ "
        r"--role=roles/datastore.user",
        text,
    )
    publisher = re.findall(
        r"topics add-iam-policy-binding (\S+) \S*runrun-runtime\S* "
        r"--role=roles/pubsub.publisher",
        text,
    )
    assert publisher == ["webhook-deliveries", "deploy-commands"]
    assert "roles/editor" not in text and "roles/owner" not in text
    # The Pub/Sub service agent: token creator on the push account, forwarding dead letters.
    assert re.search(
        r"service-accounts add-iam-policy-binding runrun-push@\S+ "
        r"\S+PUBSUB_AGENT\S+ --role=roles/iam.serviceAccountTokenCreator",
        text,
    )
    assert re.search(
        r"topics add-iam-policy-binding process_delivery-dead-letters "
        r"\S+PUBSUB_AGENT\S+ --role=roles/pubsub.publisher",
        text,
    )
    assert re.search(
        r"subscriptions add-iam-policy-binding runrun-process_delivery-push "
        r"\S+PUBSUB_AGENT\S+ --role=roles/pubsub.subscriber",
        text,
    )
    # deploy-staging: builds.editor on the triggers' project, and no actAs unless asked.
    assert re.search(
        r"projects add-iam-policy-binding acme \S+runrun-runtime@\S+ "
        r"--role=roles/cloudbuild.builds.editor",
        text,
    )
    assert "roles/iam.serviceAccountUser" not in text
    # Every secret: created empty, readable by the runtime, and a version required to go on.
    for name in ("GITHUB_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"):
        assert f"gcloud secrets create {name} --replication-policy=automatic" in text
        assert re.search(
            f"secrets add-iam-policy-binding {name} \\S+runrun-runtime\\S+ "
            "--role=roles/secretmanager.secretAccessor",
            text,
        )
        assert f"gcloud secrets versions add {name} --data-file=-" in text
    assert first("MISSING_SECRETS:-") < first("builds submit")
    # The dead letters wait on a subscription before anything can dead-letter into them.
    dead = first(f"subscriptions create {dead_letter_subscription('process_delivery')} ")
    assert f"--topic={dead_letter_topic('process_delivery')}" in lines[dead]
    assert "--expiration-period=never" in lines[dead]
    assert dead < first("subscriptions create runrun-process_delivery-push")


def test_cloud_build_access_follows_the_triggers_project_and_account() -> None:
    builder = "deployer@ci-acme.iam.gserviceaccount.com"
    settings = dataclasses.replace(
        SETTINGS, cloudbuild_project="ci-acme", cloudbuild_service_account=builder
    )
    text = "\n".join(plan("run", main_targets(), settings))
    assert re.search(
        r"projects add-iam-policy-binding ci-acme \S+runrun-runtime@acme\S+ "
        r"--role=roles/cloudbuild.builds.editor",
        text,
    )
    # Running a trigger that runs as an account needs actAs on that account.
    assert re.search(
        f"service-accounts add-iam-policy-binding {re.escape(builder)} "
        r"\S+runrun-runtime@acme\S+ --role=roles/iam.serviceAccountUser",
        text,
    )
    # A team with its own deployer (the command topic) grants Cloud Build nothing.
    topic_only = dataclasses.replace(settings, deploy_via="topic")
    assert "cloudbuild.builds" not in "\n".join(plan("run", main_targets(), topic_only))


def test_plan_settings_read_the_cloud_build_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared import reload_settings

    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "acme")
    monkeypatch.setenv("RUNRUN_CLOUDBUILD_SERVICE_ACCOUNT", "b@acme.iam.gserviceaccount.com")
    reload_settings()
    settings = PlanSettings.from_env()
    assert settings.cloudbuild_project == "acme"
    assert settings.cloudbuild_service_account == "b@acme.iam.gserviceaccount.com"
    assert settings.deploy_via == "cloudbuild"


def test_functions_mode_wires_topics_and_eventarc_events_with_retry() -> None:
    lines = plan("functions", event_targets(), event_settings())
    deploys = {w[2]: w for w in calls(lines) if w[:2] == ["functions", "deploy"]}
    assert set(deploys) == {"on_order", "on_invoice", "on_upload", "on_anything", "hook"}
    assert "--trigger-topic=orders" in deploys["on_order"]
    assert "--trigger-topic=invoices" in deploys["on_invoice"]
    assert "--trigger-topic=on_anything" in deploys["on_anything"]
    upload = deploys["on_upload"]
    assert "--trigger-event-filters=type=google.cloud.storage.object.v1.finalized" in upload
    assert "--trigger-event-filters=bucket=acme-uploads" in upload
    assert "--trigger-location=us" in upload
    assert not any(a.startswith("--trigger-topic") for a in upload)
    for name in ("on_order", "on_invoice", "on_upload", "on_anything"):
        assert "--retry" in deploys[name]
        assert "--trigger-service-account=runrun-push@acme.iam.gserviceaccount.com" in deploys[name]
    assert "--trigger-http" in deploys["hook"] and "--retry" not in deploys["hook"]
    text = "\n".join(lines)
    # Storage publishes its events as its own agent; Eventarc delivers as the push account.
    assert "STORAGE_AGENT=$(gcloud storage service-agent --project=acme)" in text
    assert "--role=roles/eventarc.eventReceiver" in text
    for topic in ("orders", "invoices", "on_anything", "on_upload-dead-letters"):
        assert f"gcloud pubsub topics create {topic} " in text


def test_run_mode_routes_each_event_target_to_its_path() -> None:
    lines = plan("run", event_targets(), event_settings())
    text = "\n".join(lines)
    for name, topic in (("on_order", "orders"), ("on_invoice", "invoices")):
        create = next(
            w
            for w in calls(lines)
            if w[:3] == ["pubsub", "subscriptions", "create"] and w[3] == f"runrun-{name}-push"
        )
        assert f"--topic={topic}" in create
        assert f"--push-endpoint=${{SERVICE_URL}}/{name}" in create
    [eventarc] = [w for w in calls(lines) if w[:3] == ["eventarc", "triggers", "create"]]
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
    assert "--dead-letter-topic=on_upload-dead-letters" in text
    assert not any(w[:2] == ["functions", "deploy"] for w in calls(lines))


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
        triggers(event_targets(), pyproject, default_topic="deliveries")
    assert message in str(caught.value)
    assert str(pyproject) in str(caught.value)


def test_build_roles_cover_every_command_and_readme_lists_them() -> None:
    roles = deploy_roles(main_targets())
    assert "roles/logging.logWriter" in roles and "roles/editor" not in roles
    # Every command of the deploy step maps to a role, Eventarc and Storage ones included.
    assert {"roles/eventarc.admin", "roles/pubsub.admin"} <= set(deploy_roles(event_targets()))
    with pytest.raises(UnmappedCommandError):
        roles_for(["compute", "instances", "create", "vm"])
    header = (ROOT / "cloudbuild.yaml").read_text().split("substitutions:")[0]
    assert re.findall(r"#   (roles/\S+)", header) == roles
    readme = (ROOT / "docs" / "deploy.md").read_text()
    section = readme.split("<!-- build-roles -->")[1].split("<!-- /build-roles -->")[0]
    assert sorted(set(re.findall(r"roles/[\w.]+", section))) == roles
