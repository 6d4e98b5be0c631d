"""What a project needs before any target runs: its APIs, the image repository, the build
source bucket, Firestore and its TTL policy, the secrets and the topics. Every line is
idempotent (describe-or-create, or a call that converges).
"""

from __future__ import annotations

from collections.abc import Iterable

from ._settings import PlanSettings
from ._shell import ensure, render

# Enabled before any resource of theirs is touched
# (cloud.google.com/service-usage/docs/enable-disable).
BASE_APIS = (
    "iam.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "storage.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
)


def _p(s: PlanSettings) -> str:
    return f"--project={s.project}"


def apis(mode: str, eventarc: bool, s: PlanSettings) -> list[str]:
    wanted = [*BASE_APIS]
    if mode == "functions":
        wanted += ["cloudfunctions.googleapis.com", "eventarc.googleapis.com"]
    elif eventarc:
        wanted.append("eventarc.googleapis.com")
    if s.needs.all_secrets():
        wanted.append("secretmanager.googleapis.com")
    wanted += s.needs.apis
    return ["# APIs", render(["gcloud", "services", "enable", *dict.fromkeys(wanted), _p(s)])]


def source_bucket(s: PlanSettings) -> str:
    """The bucket `gcloud builds submit` stages the source in (its default name)."""
    return f"{s.project}_cloudbuild"


def build_storage(s: PlanSettings) -> list[str]:
    """The image repository and the builds' source bucket, made here so that the build
    account can be granted on them, not on the project."""
    lines = ["# Where builds read their source and push the image"]
    bucket = f"gs://{source_bucket(s)}"
    lines.append(
        ensure(
            ["gcloud", "storage", "buckets", "describe", bucket, _p(s)],
            [
                "gcloud",
                "storage",
                "buckets",
                "create",
                bucket,
                f"--location={s.region}",
                "--uniform-bucket-level-access",
                _p(s),
            ],
        )
    )
    where = [f"--location={s.region}", _p(s)]
    lines.append(
        ensure(
            ["gcloud", "artifacts", "repositories", "describe", s.repository, *where],
            [
                "gcloud",
                "artifacts",
                "repositories",
                "create",
                s.repository,
                "--repository-format=docker",
                *where,
            ],
        )
    )
    return lines


def firestore(s: PlanSettings) -> list[str]:
    if s.needs.firestore_ttl is None:
        return []
    group, field = s.needs.firestore_ttl
    describe = ["gcloud", "firestore", "databases", "describe", "--database=(default)", _p(s)]
    create = [
        "gcloud",
        "firestore",
        "databases",
        "create",
        "--database=(default)",
        f"--location={s.region}",
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
        field,
        f"--collection-group={group}",
        "--enable-ttl",
        "--async",
        _p(s),
    ]
    return [
        "# Firestore, and the TTL policy deleting expired records",
        ensure(describe, create),
        render(ttl) + " >/dev/null",
    ]


def secrets(names: Iterable[str], s: PlanSettings) -> list[str]:
    """Each secret created empty and readable by the runtime; then the plan stops, naming
    the command to run, while any of them has no enabled version (a deploy would fail)."""
    from ._iam import grant, sa

    lines = ["# Secrets: created empty; the plan stops until each has a version"]
    for name in names:
        describe = ["gcloud", "secrets", "describe", name, _p(s)]
        create = ["gcloud", "secrets", "create", name, "--replication-policy=automatic", _p(s)]
        lines.append(ensure(describe, create))
        lines.append(
            grant(["secrets"], name, sa(s.runtime_email), "roles/secretmanager.secretAccessor", s)
        )
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


def topics(wanted: Iterable[str], s: PlanSettings) -> list[str]:
    lines = []
    for topic in dict.fromkeys(wanted):
        describe = ["gcloud", "pubsub", "topics", "describe", topic, _p(s)]
        create = ["gcloud", "pubsub", "topics", "create", topic, _p(s)]
        lines.append(ensure(describe, create))
    return lines


def storage_agent(needed: bool, s: PlanSettings) -> list[str]:
    """Cloud Storage publishes its events through Pub/Sub as its own service agent."""
    if not needed:
        return []
    from ._iam import grant

    agent = ["gcloud", "storage", "service-agent", _p(s)]
    return [
        f"STORAGE_AGENT=$({render(agent)})",
        grant(
            ["projects"], s.project, "serviceAccount:${STORAGE_AGENT}", "roles/pubsub.publisher", s
        ),
    ]
