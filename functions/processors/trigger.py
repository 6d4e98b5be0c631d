"""Trigger an action: a GitHub push to a repository's default branch deploys it to staging.

RUNRUN_DEPLOY_VIA=cloudbuild (the default) runs the repository's Cloud Build trigger
(RUNRUN_CLOUDBUILD_TRIGGERS) on the pushed commit, exactly once per delivery; the build id
is logged with the delivery id, and the inspector shows it. RUNRUN_DEPLOY_VIA=topic
publishes a deploy command on RUNRUN_COMMAND_TOPIC instead, for a team running its own
deployer.
"""

import json

from shared import Delivery, Runtime, Settings
from shared.processors.deploy_staging._cloudbuild import Push, default_branch_push, deploy_push

from . import registry


def _configured(settings: Settings) -> bool:
    return settings.deploy_via == "topic" or bool(settings.cloudbuild_triggers)


@registry.register(
    source="github_webhook", event_type="push", name="deploy-staging", enabled=_configured
)
def deploy_staging(delivery: Delivery, runtime: Runtime) -> str | None:
    push = default_branch_push(delivery.json())
    if push is None:
        return None  # another branch, a tag, a deletion: nothing to deploy
    if runtime.settings.deploy_via == "topic":
        _publish_command(runtime, push, delivery.delivery_id)
        return None
    build_id = deploy_push(runtime, push, delivery.delivery_id)
    return f"build {build_id}" if build_id else None


def _publish_command(runtime: Runtime, push: Push, delivery_id: str) -> None:
    command = {
        "command": "deploy",
        "environment": "staging",
        "repository": push.repository,
        "ref": f"refs/heads/{push.branch}",
        "sha": push.sha,
        "delivery_id": delivery_id,
    }
    with runtime.deadline():
        runtime.publisher.publish(
            runtime.settings.command_topic,
            json.dumps(command).encode(),
            {"command": "deploy-staging", "delivery_id": delivery_id},
        )
