"""Deploy to staging: a GitHub push to a repository's default branch deploys it.

RUNRUN_DEPLOY_VIA=cloudbuild (the default) runs the repository's Cloud Build trigger
(RUNRUN_CLOUDBUILD_TRIGGERS) on the pushed commit, exactly once per delivery; the build id
is logged with the delivery id, and the inspector shows it. RUNRUN_DEPLOY_VIA=topic
publishes a deploy command on RUNRUN_COMMAND_TOPIC instead, for a team running its own
deployer.
"""

from __future__ import annotations

import json

from shared._delivery import Delivery
from shared.backends import make_cloudbuild
from shared.processing import Registration
from shared.processors.deploy_staging._settings import DeploySettings as DeploySettings
from shared.processors.deploy_staging._trigger import DeployContext as DeployContext
from shared.processors.deploy_staging._trigger import Push as Push
from shared.processors.deploy_staging._trigger import default_branch_push as default_branch_push
from shared.processors.deploy_staging._trigger import delivery_tag as delivery_tag
from shared.processors.deploy_staging._trigger import deploy_push as deploy_push


def deploy_staging(delivery: Delivery, context: DeployContext) -> str | None:
    push = default_branch_push(delivery.json())
    if push is None:
        return None  # another branch, a tag, a deletion: nothing to deploy
    if context.settings.via == "topic":
        _publish_command(context, push, delivery.delivery_id)
        return None
    build_id = deploy_push(context, push, delivery.delivery_id)
    return f"build {build_id}" if build_id else None


def _publish_command(context: DeployContext, push: Push, delivery_id: str) -> None:
    command = {
        "command": "deploy",
        "environment": "staging",
        "repository": push.repository,
        "ref": f"refs/heads/{push.branch}",
        "sha": push.sha,
        "delivery_id": delivery_id,
    }
    with context.deadline():
        context.publish(
            context.settings.command_topic,
            json.dumps(command).encode(),
            {"command": "deploy-staging", "delivery_id": delivery_id},
        )


def _configured(block: DeploySettings) -> bool:
    return block.via == "topic" or bool(block.triggers)


def _client(block: DeploySettings) -> object:
    return make_cloudbuild(block.endpoint)


PROCESSOR = Registration(
    "deploy-staging",
    deploy_staging,
    source="github_webhook",
    event_type="push",
    settings=DeploySettings.from_env,
    enabled=_configured,
    client=_client,
)

__all__ = [
    "DeployContext",
    "DeploySettings",
    "PROCESSOR",
    "Push",
    "default_branch_push",
    "delivery_tag",
    "deploy_push",
    "deploy_staging",
]
