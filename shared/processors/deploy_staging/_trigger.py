"""Deploy to staging: run the Cloud Build trigger of a repository on a pushed commit, exactly
once per delivery.

A push qualifies when it updates the repository's default branch (not a tag, not a
deletion) and RUNRUN_CLOUDBUILD_TRIGGERS maps the repository to a trigger. The call returns
once Cloud Build has queued the build; it never waits for the build itself.

Exactly one build per delivery, even when a trigger call succeeded but its completion was
never recorded (a timeout on the answer, a crash, a failed write of the claim): every build
carries the delivery's tag (substitution `_RUNRUN_DELIVERY`, which the trigger's build
config lists under `tags:`), and before triggering we ask Cloud Build for a build with that
tag. The window that remains: a process that dies (or loses the store) while its trigger
call is in flight; the run taken over after its lease may look before the build exists, and
trigger again. A live call keeps its claim renewed (a heartbeat) however long it takes.

The official client runs over its REST transport: one HTTP/1.1 dependency (requests)
instead of a gRPC channel per process, and the transport the contract tests exercise. The
processor declares it as its client: built on first use, like every other client.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from shared._errors import NotConfigured, PermanentFailure
from shared.processing import ProcessorContext
from shared.processors.deploy_staging._settings import DeploySettings

if TYPE_CHECKING:
    from google.cloud.devtools.cloudbuild_v1 import CloudBuildClient

log = logging.getLogger("runrun.cloudbuild")

DELIVERY_SUBSTITUTION = "_RUNRUN_DELIVERY"
# Cloud Build's rule for a build tag.
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_ZERO_SHA = "0" * 40


DeployContext: TypeAlias = "ProcessorContext[DeploySettings, CloudBuildClient]"


@dataclass(frozen=True)
class Push:
    """A push that deploys: to the default branch of `repository`, at commit `sha`."""

    repository: str
    branch: str
    sha: str


def default_branch_push(payload: Any) -> Push | None:
    """The push in a GitHub `push` payload when it updates the default branch, else None
    (another branch, a tag, a deletion, or no push of GitHub's shape at all)."""
    if not isinstance(payload, dict):
        return None
    repository = payload.get("repository")
    if not isinstance(repository, dict):
        return None
    name, branch, sha = repository.get("full_name"), repository.get("default_branch"), None
    if isinstance(payload.get("after"), str):
        sha = payload["after"]
    if not (isinstance(name, str) and name and isinstance(branch, str) and branch):
        return None
    if payload.get("ref") != f"refs/heads/{branch}" or payload.get("deleted") is True:
        return None
    if not sha or sha == _ZERO_SHA:
        return None
    return Push(repository=name, branch=branch, sha=sha)


def delivery_tag(delivery_id: str) -> str:
    """The build tag naming a delivery: readable when the id is tag-safe (GitHub's GUIDs),
    otherwise a digest of it."""
    tag = f"delivery-{delivery_id}"
    if _TAG.match(tag):
        return tag
    return "delivery-" + hashlib.sha256(delivery_id.encode()).hexdigest()[:40]


def _project(context: DeployContext) -> str:
    project = context.settings.project or context.project
    if not project:
        raise NotConfigured("no project for Cloud Build: set RUNRUN_CLOUDBUILD_PROJECT")
    return project


def _permanent(exc: Exception, what: str) -> PermanentFailure | None:
    from google.api_core import exceptions

    # Over REST the HTTP status picks the class: 403 is Forbidden, of which gRPC's
    # PermissionDenied is a subclass. UNAVAILABLE (503), DEADLINE_EXCEEDED (504) and the
    # rest go back to the queue.
    if isinstance(exc, exceptions.Forbidden):
        return PermanentFailure(
            f"Cloud Build refused {what}: PERMISSION_DENIED (grant the service's account"
            " roles/cloudbuild.builds.editor)"
        )
    if isinstance(exc, exceptions.NotFound):
        return PermanentFailure(f"Cloud Build has no {what}: NOT_FOUND")
    return None


def existing_build(context: DeployContext, tag: str) -> str | None:
    """The id of a build already carrying `tag`, or None."""
    settings = context.settings
    project = _project(context)
    from google.cloud.devtools.cloudbuild_v1 import ListBuildsRequest

    request = ListBuildsRequest(
        parent=f"projects/{project}/locations/{settings.region}",
        project_id=project,
        filter=f'tags="{tag}"',
        page_size=1,
    )
    try:
        # retry=None: a failure goes back to the queue, which retries with its own backoff
        # (the client's default retry would hold the worker for minutes).
        pages = context.client.list_builds(
            request=request, retry=None, timeout=settings.timeout_seconds
        )
        for build in pages.builds:  # the first page only: one match is enough
            return str(build.id)
    except Exception as exc:
        permanent = _permanent(exc, f"build list in project {project}")
        if permanent is not None:
            raise permanent from exc
        raise
    return None


def run_trigger(context: DeployContext, trigger: str, push: Push, tag: str) -> str:
    """Run `trigger` on the pushed commit, tagged `tag`; the queued build's id."""
    settings = context.settings
    project = _project(context)
    from google.cloud.devtools.cloudbuild_v1 import RepoSource, RunBuildTriggerRequest

    location = f"projects/{project}/locations/{settings.region}"
    request = RunBuildTriggerRequest(
        name=f"{location}/triggers/{trigger}",
        project_id=project,
        trigger_id=trigger,
        source=RepoSource(
            project_id=project,
            commit_sha=push.sha,
            substitutions={DELIVERY_SUBSTITUTION: tag},
        ),
    )
    try:
        operation = context.client.run_build_trigger(
            request=request, retry=None, timeout=settings.timeout_seconds
        )
    except Exception as exc:
        permanent = _permanent(exc, f"trigger {trigger} in {location}")
        if permanent is not None:
            raise permanent from exc
        raise
    build_id = str(operation.metadata.build.id) if operation.metadata is not None else ""
    if not build_id:
        # The operation names the build once Cloud Build has created it: ask once more.
        operation.done(retry=None)  # type: ignore[no-untyped-call]
        build_id = str(operation.metadata.build.id) if operation.metadata is not None else ""
    return build_id or operation.operation.name


def deploy_push(context: DeployContext, push: Push, delivery_id: str) -> str | None:
    """Queue the staging build of `push` unless this delivery already has one; its id, or
    None when no trigger deploys the repository."""
    trigger = context.settings.triggers.get(push.repository)
    if trigger is None:
        log.info("no Cloud Build trigger for this repository", extra={"repo": push.repository})
        return None
    tag = delivery_tag(delivery_id)
    found = existing_build(context, tag)
    if found is not None:
        log.info(
            "staging build already queued for this delivery",
            extra={"build_id": found, "delivery_id": delivery_id, "trigger": trigger},
        )
        return found
    build_id = run_trigger(context, trigger, push, tag)
    log.info(
        "staging build queued",
        extra={
            "build_id": build_id,
            "delivery_id": delivery_id,
            "trigger": trigger,
            "repo": push.repository,
            "sha": push.sha,
        },
    )
    return build_id
