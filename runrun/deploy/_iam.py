"""Identities of a deploy: the service agents, the three service accounts, and every grant.

- runtime (`runrun-runtime`): what the code runs as; only the library's roles.
- push (`runrun-push`): whose OIDC tokens Pub/Sub push, Eventarc and Cloud Tasks present.
- build (`runrun-build`): what every build and per-commit deploy runs as; only what a deploy
  needs (`build_grants`), never Owner, Editor, projectIamAdmin, secretmanager.admin or
  serviceAccountUser on the whole project.

Service agents are created before they are granted anything: "if a service agent hasn't
been created yet, then you can't grant roles to the service agent"
(cloud.google.com/iam/docs/create-service-agents). Grants to a new account or agent are
retried (`runrun_retry`): a new account may not be usable for 60 s or more
(cloud.google.com/iam/docs/service-accounts-create).
"""

from __future__ import annotations

from ._settings import PlanSettings
from ._shell import ensure, render, retried

PUBSUB_AGENT = "${PUBSUB_AGENT}"  # set by the setup plan from the project number


def _p(s: PlanSettings) -> str:
    return f"--project={s.project}"


def project_number(s: PlanSettings) -> list[str]:
    number = ["gcloud", "projects", "describe", s.project, "--format=value(projectNumber)"]
    return [
        f"PROJECT_NUMBER=$({render(number)})",
        'PUBSUB_AGENT="service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"',
        f'RUNTIME_EMAIL="{s.runtime_email}"',
    ]


def service_agents(services: list[str], s: PlanSettings) -> list[str]:
    """Create the service agents the plan grants roles to (idempotent: an existing agent
    is returned as it is)."""
    lines = ["# Service agents, created before anything is granted to them"]
    for service in services:
        create = ["gcloud", "beta", "services", "identity", "create", f"--service={service}", _p(s)]
        lines.append(render(create) + " >/dev/null")
    return lines


def accounts(s: PlanSettings) -> list[str]:
    """The three accounts, and the scheduler's when a job runs on a schedule, created by id
    (an id is not an email) when missing."""
    lines = ["# Service accounts: runtime, push deliveries, builds and deploys"]
    wanted = [
        (s.runtime_account, "runrun runtime"),
        (s.push_account, "runrun push deliveries"),
        (s.build_account, "runrun builds and deploys"),
    ]
    if s.needs.scheduled is not None:
        wanted.append((s.scheduler_account, "runrun scheduled jobs"))
    for account_id, display in wanted:
        describe = ["gcloud", "iam", "service-accounts", "describe", s.email(account_id), _p(s)]
        create = [
            "gcloud",
            "iam",
            "service-accounts",
            "create",
            account_id,
            f"--display-name={display}",
            _p(s),
        ]
        lines.append(ensure(describe, create))
    return lines


def grant(kind: list[str], resource: str, member: str, role: str, s: PlanSettings) -> str:
    """One idempotent IAM binding, retried while its member propagates."""
    argv = [
        "gcloud",
        *kind,
        "add-iam-policy-binding",
        resource,
        f"--member={member}",
        f"--role={role}",
    ]
    if kind == ["projects"]:
        argv.append("--condition=None")  # no prompt when the policy already has conditions
    elif kind[0] == "artifacts":
        argv += [f"--location={s.region}", _p(s)]
    elif kind != ["storage", "buckets"]:
        argv.append(_p(s))
    return retried(argv)


def sa(email: str) -> str:
    return f"serviceAccount:{email}"


def runtime_grants(s: PlanSettings) -> list[str]:
    """The runtime account's roles: what the library says it needs, nothing more."""
    runtime = sa(s.runtime_email)
    needs = s.needs
    lines = ["# The runtime account: the library's roles only"]
    lines += [
        grant(["projects"], project, runtime, role, s) for project, role in needs.project_roles
    ]
    lines += [
        grant(["iam", "service-accounts"], account, runtime, role, s)
        for account, role in needs.account_roles
    ]
    lines += [
        grant(["pubsub", "topics"], topic, runtime, "roles/pubsub.publisher", s)
        for topic in dict.fromkeys(needs.published_topics)
    ]
    return lines


def push_grants(eventarc: bool, s: PlanSettings) -> list[str]:
    """Pub/Sub mints the push subscriptions' tokens as the push account; Eventarc triggers
    of direct events deliver as it
    (cloud.google.com/pubsub/docs/authenticate-push-subscriptions)."""
    push = s.push_email
    lines = [
        "# The push account: Pub/Sub signs push requests as it",
        grant(
            ["iam", "service-accounts"],
            push,
            sa(PUBSUB_AGENT),
            "roles/iam.serviceAccountTokenCreator",
            s,
        ),
    ]
    if eventarc:
        lines.append(grant(["projects"], s.project, sa(push), "roles/eventarc.eventReceiver", s))
    return lines


def build_grants(mode: str, s: PlanSettings, bucket: str) -> list[str]:
    """The build account: deploy (Cloud Run or Functions), act as the runtime account (and,
    for functions, the push account its triggers use and itself as their build account),
    write images and logs, read the build's source
    (cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts,
    cloud.google.com/functions/docs/securing/build-custom-sa)."""
    build = sa(s.build_email)
    lines = [
        "# The build account: deploys only (no Owner, Editor or IAM admin)",
        grant(["projects"], s.project, build, "roles/logging.logWriter", s),
        grant(
            ["iam", "service-accounts"], s.runtime_email, build, "roles/iam.serviceAccountUser", s
        ),
        grant(["storage", "buckets"], f"gs://{bucket}", build, "roles/storage.objectViewer", s),
        grant(
            ["artifacts", "repositories"], s.repository, build, "roles/artifactregistry.writer", s
        ),
    ]
    if mode == "run":
        lines.append(grant(["projects"], s.project, build, "roles/run.developer", s))
    else:
        lines += [
            grant(["projects"], s.project, build, "roles/cloudfunctions.developer", s),
            # Functions' own builds push to gcf-artifacts and read gcf-v2-sources-*, both
            # made by Cloud Functions on the first deploy: granted on the project.
            grant(["projects"], s.project, build, "roles/artifactregistry.writer", s),
            grant(["projects"], s.project, build, "roles/storage.objectViewer", s),
            grant(
                ["iam", "service-accounts"], s.push_email, build, "roles/iam.serviceAccountUser", s
            ),
            grant(
                ["iam", "service-accounts"], s.build_email, build, "roles/iam.serviceAccountUser", s
            ),
        ]
    return lines
