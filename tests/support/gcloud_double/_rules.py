"""The documented rules the model project enforces, one function each, each citing the
page it comes from. A broken rule raises `Refused` with gcloud-like wording; the call then
exits 1, as gcloud does.
"""

from __future__ import annotations

import re
from typing import Any

State = dict[str, Any]


class Refused(Exception):
    """A call the real project would refuse."""


# Which API a command family needs.
API_OF = {
    "run": "run.googleapis.com",
    "functions": "cloudfunctions.googleapis.com",
    "pubsub": "pubsub.googleapis.com",
    "secrets": "secretmanager.googleapis.com",
    "firestore": "firestore.googleapis.com",
    "artifacts": "artifactregistry.googleapis.com",
    "eventarc": "eventarc.googleapis.com",
    "tasks": "cloudtasks.googleapis.com",
    "builds": "cloudbuild.googleapis.com",
    "monitoring": "monitoring.googleapis.com",
    "logging": "logging.googleapis.com",
    "scheduler": "cloudscheduler.googleapis.com",
    "iam": "iam.googleapis.com",
}


def api_enabled(state: State, family: str) -> None:
    """An API is enabled before its resources are used: a call to a disabled API fails with
    SERVICE_DISABLED (cloud.google.com/service-usage/docs/enable-disable)."""
    api = API_OF.get(family)
    if api and api not in state["apis"]:
        raise Refused(
            f"PERMISSION_DENIED: {api} has not been used in project {state['project']} before "
            "or it is disabled (SERVICE_DISABLED)"
        )


ACCOUNT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


def account_id(value: str) -> None:
    """Service account ids are 6-30 characters of lowercase letters, digits and dashes,
    starting with a letter: an email is not an id
    (cloud.google.com/iam/docs/service-accounts-create)."""
    if not ACCOUNT_ID.fullmatch(value):
        raise Refused(
            f"INVALID_ARGUMENT: [{value}] is not a valid account id: 6-30 characters, "
            "lowercase letters, digits and dashes, starting with a letter"
        )


def member_usable(state: State, member: str) -> None:
    """A member granted a role must exist; a new service account "might need 60 seconds or
    more" before it can be used (cloud.google.com/iam/docs/service-accounts-create), and "if
    a service agent hasn't been created yet, then you can't grant roles to the service
    agent" (cloud.google.com/iam/docs/create-service-agents). Modelled: the first grant
    naming a new account or agent fails; a retry succeeds."""
    kind, _, email = member.partition(":")
    if kind != "serviceAccount" or email.startswith("${"):
        return
    if email.endswith("@gcp-sa-pubsub.iam.gserviceaccount.com") or "@gcp-sa-" in email:
        service = email.split("@gcp-sa-")[1].split(".")[0] + ".googleapis.com"
        if service not in state["agents"]:
            raise Refused(f"INVALID_ARGUMENT: Service account {email} does not exist.")
    elif email.endswith(".iam.gserviceaccount.com") and email not in state["accounts"]:
        raise Refused(f"INVALID_ARGUMENT: Service account {email} does not exist.")
    pending = state["internal"]["propagating"]
    if email in pending:
        pending.remove(email)
        raise Refused(
            f"INVALID_ARGUMENT: Service account {email} does not exist. (it was created "
            "moments ago)"
        )


def exists(kind: str, table: dict[str, Any], name: str) -> Any:
    """A secret, topic, subscription, queue, bucket, repository or service exists before it
    is bound or used: NOT_FOUND otherwise (every product's IAM page: a policy is set on a
    resource)."""
    if name not in table:
        raise Refused(f"NOT_FOUND: {kind} [{name}] not found")
    return table[name]


def domain_restricted_sharing(state: State, member: str) -> bool:
    """Under the domain-restricted sharing organisation policy an `allUsers` binding is
    refused (cloud.google.com/resource-manager/docs/organization-policy/restricting-domains,
    cloud.google.com/run/docs/authenticating/public): True when the binding is refused."""
    return member in ("allUsers", "allAuthenticatedUsers") and state["domain_restricted_sharing"]


def push_account_can_mint(state: State, account: str) -> None:
    """Pub/Sub signs a push subscription's tokens as its account: the Pub/Sub service agent
    needs roles/iam.serviceAccountTokenCreator on it
    (cloud.google.com/pubsub/docs/authenticate-push-subscriptions)."""
    agent = f"serviceAccount:service-{state['number']}@gcp-sa-pubsub.iam.gserviceaccount.com"
    holders = (
        state["iam"]
        .get(f"serviceAccounts/{account}", {})
        .get("roles/iam.serviceAccountTokenCreator", [])
    )
    if agent not in holders:
        raise Refused(
            f"FAILED_PRECONDITION: the Pub/Sub service agent cannot create tokens for {account}"
        )


def dead_letter_settings(state: State, topic: str | None, attempts: int | None) -> None:
    """A dead-letter topic exists, and max delivery attempts are 5..100
    (cloud.google.com/pubsub/docs/handling-failures)."""
    if topic is not None and topic not in state["topics"]:
        raise Refused(f"NOT_FOUND: dead letter topic [{topic}] not found")
    if attempts is not None and not 5 <= attempts <= 100:
        raise Refused("INVALID_ARGUMENT: max delivery attempts must be between 5 and 100")


def retention(value: str | None) -> None:
    """Message retention is at most 31 days
    (cloud.google.com/pubsub/docs/subscription-properties#retention-duration)."""
    if value is not None and _seconds(value) > 31 * 86400:
        raise Refused("INVALID_ARGUMENT: message retention must be at most 31 days")


def _seconds(value: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(value[:-1]) * units[value[-1]]


def secret_mountable(state: State, secret: str, runtime: str) -> None:
    """A secret mounted with --set-secrets exists, has a version, and the service's account
    can access it; otherwise the revision fails
    (cloud.google.com/run/docs/configuring/services/secrets)."""
    found = exists("secret", state["secrets"], secret)
    if not found["versions"]:
        raise Refused(f"FAILED_PRECONDITION: secret {secret} has no version")
    from ._iam import has_role

    if not has_role(
        state, f"serviceAccount:{runtime}", f"secrets/{secret}", "secretmanager.versions.access"
    ):
        raise Refused(f"PERMISSION_DENIED: {runtime} cannot access secret {secret}")


def eventarc_destination(state: State, service: str) -> None:
    """An Eventarc trigger's Cloud Run destination must exist when the trigger is made
    (cloud.google.com/eventarc/docs/run/route-trigger-eventarc: deploy the service first)."""
    exists("Cloud Run service", state["services"], service)


EVENTARC_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")


def eventarc_id(name: str) -> None:
    """Eventarc trigger ids are lowercase letters, digits and hyphens
    (cloud.google.com/eventarc/docs/reference/rest/v1/projects.locations.triggers)."""
    if not EVENTARC_ID.fullmatch(name):
        raise Refused(f"INVALID_ARGUMENT: trigger id [{name}] must match [a-z][a-z0-9-]*")


def eventarc_agent_ready(state: State) -> None:
    """The first Eventarc trigger of a project may fail while Eventarc's service agent is
    provisioned, and succeeds when retried (cloud.google.com/eventarc/docs/issues)."""
    if not state["internal"]["eventarc_ready"]:
        state["internal"]["eventarc_ready"] = True
        raise Refused(
            "FAILED_PRECONDITION: Invalid resource state: Permission denied while using the "
            "Eventarc Service Agent. If you recently started to use Eventarc, it may take a "
            "few minutes before all necessary permissions are propagated to the Service Agent."
        )


def build_identity(state: State, account: str | None, what: str) -> str:
    """New projects run directly submitted builds, and functions' builds, as the Compute
    Engine default account, which may lack the permissions a build needs; the typical
    failure is no storage.objects.list on the `_cloudbuild` bucket
    (cloud.google.com/build/docs/cloud-build-service-account-updates,
    cloud.google.com/functions/docs/securing/build-custom-sa). Returns the build's account."""
    if account:
        return account.rsplit("/", 1)[-1]
    default = f"{state['number']}-compute@developer.gserviceaccount.com"
    raise Refused(
        f"{what}: {default} does not have storage.objects.list access to the Google Cloud "
        f"Storage bucket {state['project']}_cloudbuild. Permission 'storage.objects.list' "
        "denied on resource (or it may not exist)."
    )


def build_logging(options: dict[str, Any]) -> None:
    """A build with a user-specified service account stores its logs in Cloud Logging or a
    bucket of its own
    (cloud.google.com/build/docs/securing-builds/configure-user-specified-service-accounts)."""
    if options.get("logging") not in ("CLOUD_LOGGING_ONLY", "NONE") and not options.get(
        "logsBucket"
    ):
        raise Refused(
            "INVALID_ARGUMENT: if 'build.service_account' is specified, the build must either "
            "specify 'build.logs_bucket', use REGIONAL_USER_OWNED_BUCKET, or use "
            "CLOUD_LOGGING_ONLY / NONE logging"
        )


SUBSTITUTION = re.compile(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
BUILT_IN = {"PROJECT_ID", "PROJECT_NUMBER", "BUILD_ID", "LOCATION"}


def substitute(text: str, values: dict[str, str]) -> str:
    """Cloud Build expands `$NAME` and `${NAME}`: built-ins, and user-defined ones that
    begin with `_` and hold only uppercase letters, digits and `_`; `$$` is a `$`
    (cloud.google.com/build/docs/configuring-builds/substitute-variable-values)."""
    parts = text.split("$$")

    def expand(match: re.Match[str]) -> str:
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if name in BUILT_IN:
            return values[name]
        if not re.fullmatch(r"_[A-Z0-9_]+", name):
            raise Refused(
                "INVALID_ARGUMENT: invalid value for 'build.substitutions': key in the "
                f'template "{name}" is not a valid built-in substitution'
            )
        return values.get(name, "")  # substitution_option ALLOW_LOOSE: unmatched is empty

    return "$".join(SUBSTITUTION.sub(expand, part) for part in parts)
