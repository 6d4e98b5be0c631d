"""Who may do what in the model: the predefined roles the plans grant, with the
permissions of theirs the plans' commands need (cloud.google.com/iam/docs/roles-permissions),
and the check of a caller's permission on a resource (a role on the project applies to
every resource in it: cloud.google.com/iam/docs/resource-hierarchy-access-control).
"""

from __future__ import annotations

from typing import Any

from ._rules import Refused

State = dict[str, Any]

ROLES: dict[str, frozenset[str]] = {
    "roles/owner": frozenset({"*"}),
    "roles/logging.logWriter": frozenset({"logging.logEntries.create"}),
    "roles/run.developer": frozenset(
        {"run.services.get", "run.services.create", "run.services.update"}
    ),
    "roles/run.admin": frozenset(
        {
            "run.services.get",
            "run.services.create",
            "run.services.update",
            "run.services.setIamPolicy",
        }
    ),
    "roles/run.invoker": frozenset({"run.routes.invoke", "run.jobs.run"}),
    "roles/iam.serviceAccountUser": frozenset({"iam.serviceAccounts.actAs"}),
    "roles/iam.serviceAccountTokenCreator": frozenset({"iam.serviceAccounts.getOpenIdToken"}),
    "roles/storage.objectViewer": frozenset({"storage.objects.get", "storage.objects.list"}),
    "roles/artifactregistry.writer": frozenset({"artifactregistry.repositories.uploadArtifacts"}),
    "roles/cloudfunctions.developer": frozenset(
        {
            "cloudfunctions.functions.get",
            "cloudfunctions.functions.create",
            "cloudfunctions.functions.update",
        }
    ),
    "roles/datastore.user": frozenset({"datastore.entities.create", "datastore.entities.get"}),
    "roles/pubsub.publisher": frozenset({"pubsub.topics.publish"}),
    "roles/pubsub.subscriber": frozenset({"pubsub.subscriptions.consume"}),
    "roles/secretmanager.secretAccessor": frozenset({"secretmanager.versions.access"}),
    "roles/cloudtasks.enqueuer": frozenset({"cloudtasks.tasks.create"}),
    "roles/eventarc.eventReceiver": frozenset({"eventarc.events.receiveEvent"}),
    "roles/cloudbuild.builds.editor": frozenset(
        {"cloudbuild.builds.create", "cloudbuild.builds.list"}
    ),
    "roles/firebasecloudmessaging.admin": frozenset({"cloudmessaging.messages.create"}),
    "roles/monitoring.metricWriter": frozenset({"monitoring.timeSeries.create"}),
    "roles/bigquery.dataEditor": frozenset(
        {"bigquery.tables.updateData", "bigquery.tables.create"}
    ),
    # cloud.google.com/iam/docs/roles-permissions/telemetry
    "roles/telemetry.tracesWriter": frozenset({"telemetry.traces.write"}),
}


def member_of(account: str) -> str:
    return (
        f"serviceAccount:{account}"
        if account.endswith("gserviceaccount.com")
        else f"user:{account}"
    )


def has_role(state: State, member: str, resource: str, permission: str) -> bool:
    """True when `member` holds a role granting `permission` on `resource` or its project."""
    for key in (resource, f"projects/{state['project']}"):
        for role, members in state["iam"].get(key, {}).items():
            granted = ROLES.get(role, frozenset())
            if member in members and ("*" in granted or permission in granted):
                return True
    return False


def require(state: State, caller: str, resource: str, permission: str) -> None:
    """The caller holds `permission` on `resource`, or the call is PERMISSION_DENIED."""
    if not has_role(state, member_of(caller), resource, permission):
        raise Refused(
            f"PERMISSION_DENIED: Permission '{permission}' denied on resource '{resource}' for "
            f"{caller}"
        )


def act_as(state: State, caller: str, account: str) -> None:
    """Deploying a service, a function or a trigger that runs as an account needs actAs on
    it (cloud.google.com/run/docs/securing/service-identity,
    cloud.google.com/iam/docs/service-accounts-actas)."""
    require(state, caller, f"serviceAccounts/{account}", "iam.serviceAccounts.actAs")


def bind(state: State, resource: str, member: str, role: str) -> None:
    """Add a binding (idempotent: an existing binding changes nothing)."""
    members = state["iam"].setdefault(resource, {}).setdefault(role, [])
    if member not in members:
        members.append(member)
        members.sort()


def holders(state: State, role: str) -> dict[str, list[str]]:
    """resource -> members holding `role` there."""
    return {
        resource: sorted(roles[role]) for resource, roles in state["iam"].items() if roles.get(role)
    }
