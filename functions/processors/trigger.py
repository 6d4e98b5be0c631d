"""Trigger an action: a GitHub push to the repository's default branch asks for a staging
deploy, as a command message on RUNRUN_COMMAND_TOPIC (a deployer subscribes to it)."""

import json

from shared import Delivery, Runtime

from . import registry


@registry.register(source="github_webhook", event_type="push", name="deploy-staging")
def deploy_staging(delivery: Delivery, runtime: Runtime) -> None:
    push = delivery.json()
    repository = push.get("repository") if isinstance(push, dict) else None
    if not isinstance(repository, dict):
        return  # not a push event of GitHub's shape: nothing to deploy
    branch = repository.get("default_branch")
    if not branch or push.get("ref") != f"refs/heads/{branch}" or push.get("deleted"):
        return
    command = {
        "command": "deploy",
        "environment": "staging",
        "repository": repository.get("full_name"),
        "ref": push["ref"],
        "sha": push.get("after"),
        "delivery_id": delivery.delivery_id,
    }
    with runtime.deadline():
        runtime.publisher.publish(
            runtime.settings.command_topic,
            json.dumps(command).encode(),
            {"command": "deploy-staging", "delivery_id": delivery.delivery_id},
        )
