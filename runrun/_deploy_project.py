"""What every deploy needs before any target runs, on an empty project too: the APIs, the
image repository, the Firestore database and its TTL policy, service accounts holding only
the roles they use, the secrets, the topics and, per event target, a dead-letter topic with
a subscription someone can read. Every line is idempotent (describe-or-create, or a call
that converges), so running the plan twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._deploy_settings import PlanSettings, all_secrets, bigquery_dataset, ensure, render
from ._triggers import Trigger

_RUN_APIS = (
    "run",
    "pubsub",
    "firestore",
    "secretmanager",
    "cloudbuild",
    "artifactregistry",
    "eventarc",
    "iam",
)
# 2nd-gen Cloud Functions run on Cloud Run: the same APIs, and Cloud Functions' own first.
APIS = {"run": _RUN_APIS, "functions": ("cloudfunctions", *_RUN_APIS)}
PUBSUB_AGENT = "${PUBSUB_AGENT}"  # the project's Pub/Sub service agent, set by the plan
# How long a dead letter stays readable, and its subscription never expires for lack of use.
DEAD_LETTER_RETENTION = "7d"


def dead_letter_topic(target: str) -> str:
    return f"{target}-dead-letters"


def dead_letter_subscription(target: str) -> str:
    """The pull subscription on a target's dead-letter topic (same name as the topic)."""
    return f"{target}-dead-letters"


def _p(settings: PlanSettings) -> str:
    return f"--project={settings.project}"


def apis(mode: str, settings: PlanSettings) -> list[str]:
    names = [f"{api}.googleapis.com" for api in APIS[mode]]
    return ["# APIs", render(["gcloud", "services", "enable", *names, _p(settings)])]


def repository(settings: PlanSettings) -> list[str]:
    s = settings
    where = [f"--location={s.region}", _p(s)]
    describe = ["gcloud", "artifacts", "repositories", "describe", s.repository, *where]
    create = [
        "gcloud",
        "artifacts",
        "repositories",
        "create",
        s.repository,
        "--repository-format=docker",
        *where,
    ]
    return ["# The image repository", ensure(describe, create)]


def firestore(settings: PlanSettings) -> list[str]:
    s = settings
    describe = ["gcloud", "firestore", "databases", "describe", "--database=(default)", _p(s)]
    create = [
        "gcloud",
        "firestore",
        "databases",
        "create",
        "--database=(default)",
        f"--location={s.firestore_location}",
        "--type=firestore-native",
        _p(s),
    ]
    # The code checks expiry itself; the TTL policy only deletes what has expired.
    ttl = [
        "gcloud",
        "firestore",
        "fields",
        "ttls",
        "update",
        "expire_at",
        f"--collection-group={s.idempotency_collection}",
        "--enable-ttl",
        "--async",
        _p(s),
    ]
    return [
        "# Firestore, and the TTL policy deleting expired idempotency records",
        ensure(describe, create),
        render(ttl),
    ]


def pubsub_agent(settings: PlanSettings) -> list[str]:
    number = ["gcloud", "projects", "describe", settings.project, "--format=value(projectNumber)"]
    return [f'PUBSUB_AGENT="service-$({render(number)})@gcp-sa-pubsub.iam.gserviceaccount.com"']


def _account(email: str, display: str, settings: PlanSettings) -> str:
    describe = ["gcloud", "iam", "service-accounts", "describe", email, _p(settings)]
    create = [
        "gcloud",
        "iam",
        "service-accounts",
        "create",
        settings.account_name(email),
        f"--display-name={display}",
        _p(settings),
    ]
    return ensure(describe, create)


def _grant(kind: list[str], resource: str, member: str, role: str, s: PlanSettings) -> str:
    argv = [
        "gcloud",
        *kind,
        "add-iam-policy-binding",
        resource,
        f"--member={member}",
        f"--role={role}",
        _p(s),
    ]
    if kind == ["projects"]:
        argv.remove(_p(s))
        argv.append("--condition=None")  # no prompt when the policy already has conditions
    return render(argv) + " >/dev/null"


def grant_topic(topic: str, member: str, role: str, s: PlanSettings) -> str:
    return _grant(["pubsub", "topics"], topic, member, role, s)


def grant_subscription(subscription: str, member: str, role: str, s: PlanSettings) -> str:
    return _grant(["pubsub", "subscriptions"], subscription, member, role, s)


def accounts(eventarc: bool, settings: PlanSettings) -> list[str]:
    """The runtime account (what the code may touch) and the push account (whose OIDC
    tokens Pub/Sub and Eventarc sign when they deliver to an event target)."""
    s = settings
    runtime, push = f"serviceAccount:{s.runtime_service_account}", s.push_service_account
    lines = [
        "# Service accounts: the runtime reads Firestore, publishes and reads its secrets",
        _account(s.runtime_service_account, "runrun runtime", s),
        _account(push, "runrun push deliveries", s),
        _grant(["projects"], s.project, runtime, "roles/datastore.user", s),
        *(grant_topic(t, runtime, "roles/pubsub.publisher", s) for t in (s.topic, s.command_topic)),
        # Pub/Sub mints the push subscriptions' OIDC tokens as the push account.
        _grant(
            ["iam", "service-accounts"],
            push,
            f"serviceAccount:{PUBSUB_AGENT}",
            "roles/iam.serviceAccountTokenCreator",
            s,
        ),
    ]
    lines += cloudbuild_access(s)
    if eventarc:
        # Eventarc triggers of direct events deliver as the push account.
        lines.append(
            _grant(
                ["projects"], s.project, f"serviceAccount:{push}", "roles/eventarc.eventReceiver", s
            )
        )
    return lines


def cloudbuild_access(settings: PlanSettings) -> list[str]:
    """What deploy-staging needs to run a Cloud Build trigger: list and create builds
    (builds.editor; triggers:run is a builds.create), and act as the trigger's service
    account when the trigger runs as one (Cloud Build checks actAs on it for the caller)."""
    s = settings
    if s.deploy_via != "cloudbuild":
        return []  # deploy commands go to the command topic only
    runtime = f"serviceAccount:{s.runtime_service_account}"
    lines = [
        "# deploy-staging runs Cloud Build triggers: lists builds and runs triggers",
        _grant(["projects"], s.cloudbuild_project, runtime, "roles/cloudbuild.builds.editor", s),
    ]
    if s.cloudbuild_service_account:
        lines.append(
            _grant(
                ["iam", "service-accounts"],
                s.cloudbuild_service_account,
                runtime,
                "roles/iam.serviceAccountUser",
                s,
            )
        )
    return lines


def secrets(names: Iterable[str], settings: PlanSettings) -> list[str]:
    """Each secret created empty and readable by the runtime; then the plan stops, naming
    the command to run, while any of them has no enabled version (a deploy would fail)."""
    s = settings
    runtime = f"serviceAccount:{s.runtime_service_account}"
    lines = ["# Secrets: created empty; the plan stops until each has a version"]
    for name in names:
        describe = ["gcloud", "secrets", "describe", name, _p(s)]
        create = ["gcloud", "secrets", "create", name, "--replication-policy=automatic", _p(s)]
        lines.append(ensure(describe, create))
        lines.append(_grant(["secrets"], name, runtime, "roles/secretmanager.secretAccessor", s))
        versions = [
            "gcloud",
            "secrets",
            "versions",
            "list",
            name,
            _p(s),
            "--filter=state=ENABLED",
            "--limit=1",
            "--format=value(name)",
        ]
        add = ["gcloud", "secrets", "versions", "add", name, "--data-file=-", _p(s)]
        message = f"runrun: secret {name} has no version; add one (value on stdin): {' '.join(add)}"
        lines.append(
            f'[ -n "$({render(versions)})" ] || '
            f"{{ echo {render([message])} >&2; MISSING_SECRETS=1; }}"
        )
    lines.append('[ -z "${MISSING_SECRETS:-}" ] || exit 1')
    return lines


def topics(wanted: Iterable[str], settings: PlanSettings) -> list[str]:
    lines = ["# Topics"]
    for topic in dict.fromkeys(wanted):
        describe = ["gcloud", "pubsub", "topics", "describe", topic, _p(settings)]
        create = ["gcloud", "pubsub", "topics", "create", topic, _p(settings)]
        lines.append(ensure(describe, create))
    return lines


def dead_letters(trigger: Trigger, settings: PlanSettings) -> list[str]:
    """A target's dead-letter topic, Pub/Sub allowed to publish to it, and the subscription
    where its dead letters wait to be read and replayed (a topic without a subscription
    would drop them). Created before the subscription that dead-letters into it."""
    s = settings
    topic, name = dead_letter_topic(trigger.target), dead_letter_subscription(trigger.target)
    describe = ["gcloud", "pubsub", "subscriptions", "describe", name, _p(s)]
    create = [
        "gcloud",
        "pubsub",
        "subscriptions",
        "create",
        name,
        f"--topic={topic}",
        f"--message-retention-duration={DEAD_LETTER_RETENTION}",
        "--expiration-period=never",
        "--ack-deadline=60",
        _p(s),
    ]
    return [
        f"# Dead letters of {trigger.target}: python -m runrun dead-letters list {trigger.target}",
        *topics([topic], s)[1:],
        grant_topic(topic, f"serviceAccount:{PUBSUB_AGENT}", "roles/pubsub.publisher", s),
        ensure(describe, create),
    ]


def dead_letter_policy(subscription: str, trigger: Trigger, settings: PlanSettings) -> list[str]:
    """Dead-lettering on a subscription that exists (one Eventarc made): the policy, and
    the Pub/Sub agent allowed to forward from it."""
    s = settings
    update = [
        "gcloud",
        "pubsub",
        "subscriptions",
        "update",
        subscription,
        f"--dead-letter-topic={dead_letter_topic(trigger.target)}",
        f"--max-delivery-attempts={s.max_delivery_attempts}",
        _p(s),
    ]
    return [
        render(update),
        grant_subscription(
            subscription, f"serviceAccount:{PUBSUB_AGENT}", "roles/pubsub.subscriber", s
        ),
    ]


def storage_agent(triggers: Iterable[Trigger], settings: PlanSettings) -> list[str]:
    """Cloud Storage publishes its events through Pub/Sub as its own service agent."""
    if not any(t.event_type.startswith("google.cloud.storage.") for t in triggers):
        return []
    agent = ["gcloud", "storage", "service-agent", _p(settings)]
    return [
        f"STORAGE_AGENT=$({render(agent)})",
        _grant(
            ["projects"],
            settings.project,
            "serviceAccount:${STORAGE_AGENT}",
            "roles/pubsub.publisher",
            settings,
        ),
    ]


def processors_access(settings: PlanSettings) -> list[str]:
    """What the optional processors need, only for those the settings configure: their API,
    and the runtime account's roles (FCM sends; BigQuery rows into the table's dataset,
    created if missing, plus running jobs in the project)."""
    s = settings
    runtime = f"serviceAccount:{s.runtime_service_account}"
    lines: list[str] = []
    if s.notify:
        lines += [
            "# notify: push notifications through Firebase Cloud Messaging",
            render(["gcloud", "services", "enable", "fcm.googleapis.com", _p(s)]),
            _grant(["projects"], s.project, runtime, "roles/firebasecloudmessaging.admin", s),
        ]
    if s.bigquery_table:
        dataset = bigquery_dataset(s)
        bq = ["bq", f"--project_id={s.project}"]
        describe = [*bq, "show", "--dataset", dataset]
        create = [*bq, f"--location={s.region}", "mk", "--dataset", dataset]
        editor = [
            *bq,
            "add-iam-policy-binding",
            f"--member={runtime}",
            "--role=roles/bigquery.dataEditor",
            "--dataset",
            dataset,
        ]
        lines += [
            f"# bigquery: rows into {s.bigquery_table} (the table is created by the code)",
            render(["gcloud", "services", "enable", "bigquery.googleapis.com", _p(s)]),
            ensure(describe, create),
            render(editor) + " >/dev/null",
            _grant(["projects"], s.project, runtime, "roles/bigquery.jobUser", s),
        ]
    return lines


def foundation(
    mode: str, triggers: list[Trigger], settings: PlanSettings, secret_names: list[str]
) -> list[str]:
    """Everything before the targets are deployed, in the order it must exist."""
    s = settings
    eventarc = any(not t.is_topic for t in triggers)
    lines = apis(mode, s)
    if mode == "run":
        lines += repository(s)
    lines += firestore(s)
    lines += pubsub_agent(s)
    lines += topics([s.topic, s.command_topic, *(t.topic for t in triggers if t.is_topic)], s)
    lines += accounts(eventarc, s)
    lines += storage_agent(triggers, s)
    lines += processors_access(s)
    for trigger in triggers:
        lines += dead_letters(trigger, s)
    lines += secrets(secret_names, s)
    return lines


__all__ = ["all_secrets", "foundation"]
