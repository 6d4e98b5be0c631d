"""The roles the Cloud Build service account needs: derived from the gcloud commands the
deploy step actually runs, so a command added to the plan without its role fails a test.

Each command group maps to the narrowest predefined role that covers every call the plan
makes in it (creating and describing resources, and setting IAM policy on them).
"""

from __future__ import annotations

from collections.abc import Iterable

from ._gcloud_check import gcloud_commands

# Longest matching command prefix wins.
ROLES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("services", "enable"): ("roles/serviceusage.serviceUsageAdmin",),
    ("artifacts", "repositories"): ("roles/artifactregistry.admin",),
    ("firestore",): ("roles/datastore.owner",),  # databases create, TTL fields update
    ("projects", "describe"): ("roles/resourcemanager.projectIamAdmin",),
    ("projects", "add-iam-policy-binding"): ("roles/resourcemanager.projectIamAdmin",),
    ("iam", "service-accounts"): ("roles/iam.serviceAccountAdmin",),
    ("secrets",): ("roles/secretmanager.admin",),  # create, list versions, set IAM policy
    ("pubsub",): ("roles/pubsub.admin",),  # create, update, set IAM policy
    # Deploying as the runtime account (and Eventarc as the push account) needs actAs.
    ("run",): ("roles/run.admin", "roles/iam.serviceAccountUser"),
    ("functions",): ("roles/cloudfunctions.admin", "roles/iam.serviceAccountUser"),
    ("functions", "add-invoker-policy-binding"): ("roles/run.admin",),
    ("eventarc",): ("roles/eventarc.admin", "roles/iam.serviceAccountUser"),
    ("storage", "service-agent"): ("roles/resourcemanager.projectIamAdmin",),
    ("tasks",): ("roles/cloudtasks.admin",),  # queues create, update, set IAM policy
}
# The build itself: its logs, and the image it pushes (writer; the repository admin above
# covers it when the deploy step creates the repository).
BUILD_ITSELF = ("roles/logging.logWriter", "roles/artifactregistry.writer")


class UnmappedCommandError(KeyError):
    """A gcloud command of the deploy step that no role mapping covers."""


def roles_for(words: list[str]) -> tuple[str, ...]:
    for size in range(len(words), 0, -1):
        found = ROLES.get(tuple(words[:size]))
        if found is not None:
            return found
    raise UnmappedCommandError(f"no role covers `gcloud {' '.join(words[:3])}`: add it to ROLES")


def build_roles(lines: Iterable[str]) -> list[str]:
    """Every role the commands of `lines` need, plus the build's own, sorted."""
    roles = set(BUILD_ITSELF)
    for line in lines:
        for words in gcloud_commands(line):
            roles.update(roles_for(words))
    if "roles/artifactregistry.admin" in roles:
        roles.discard("roles/artifactregistry.writer")
    return sorted(roles)
