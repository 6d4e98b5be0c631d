"""What the build account may hold: the roles its per-commit commands need, derived from
the commands themselves (a command added to the deploy step without its role fails a test),
and the roles it must never hold.

The setup plan grants exactly these (`_iam.build_grants`), on the narrowest resource.
"""

from __future__ import annotations

from collections.abc import Iterable

from ._gcloud_check import gcloud_commands

# Longest matching command prefix wins; per mode, the deploy step's commands only.
ROLES: dict[tuple[str, ...], tuple[str, ...]] = {
    # Deploying as the runtime account needs actAs on it (on that account only).
    ("run", "deploy"): ("roles/run.developer", "roles/iam.serviceAccountUser"),
    ("run", "services", "describe"): ("roles/run.developer",),
    ("functions", "deploy"): ("roles/cloudfunctions.developer", "roles/iam.serviceAccountUser"),
}
# The build itself: its logs, the image it pushes, the source it reads.
BUILD_ITSELF = (
    "roles/logging.logWriter",
    "roles/artifactregistry.writer",
    "roles/storage.objectViewer",
)
# Close to Owner: a per-commit build that held one could change who holds what.
FORBIDDEN = (
    "roles/owner",
    "roles/editor",
    "roles/resourcemanager.projectIamAdmin",
    "roles/secretmanager.admin",
    "roles/iam.serviceAccountAdmin",
)


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
    return sorted(roles)
