"""The deploy-staging processor's block: Cloud Build's triggers and where they run, or the
topic that carries deploy commands to a deployer of the team's own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.settings import ConfigError, Settings, env_choice, env_float, env_list, env_text

DEPLOY_VIA = ("cloudbuild", "topic")


@dataclass(frozen=True)
class DeploySettings:
    via: str  # RUNRUN_DEPLOY_VIA: "cloudbuild", or "topic" for a deployer of the team's own
    triggers: Mapping[str, str]  # RUNRUN_CLOUDBUILD_TRIGGERS: repository -> trigger id
    project: str | None  # RUNRUN_CLOUDBUILD_PROJECT (default: the service's project)
    region: str  # RUNRUN_CLOUDBUILD_REGION
    endpoint: str | None  # RUNRUN_CLOUDBUILD_ENDPOINT: http:// is a stand-in, no credentials
    timeout_seconds: float  # RUNRUN_CLOUDBUILD_TIMEOUT_SECONDS
    command_topic: str  # RUNRUN_COMMAND_TOPIC, where "topic" publishes its commands
    # RUNRUN_CLOUDBUILD_SERVICE_ACCOUNT: the account the triggers run as (deploy-plan only)
    service_account: str | None

    @classmethod
    def from_env(cls, settings: Settings) -> DeploySettings:
        return cls(
            via=env_choice("RUNRUN_DEPLOY_VIA", DEPLOY_VIA, "cloudbuild"),
            triggers=_triggers("RUNRUN_CLOUDBUILD_TRIGGERS"),
            project=env_text("RUNRUN_CLOUDBUILD_PROJECT") or None,
            region=env_text("RUNRUN_CLOUDBUILD_REGION") or "global",
            endpoint=env_text("RUNRUN_CLOUDBUILD_ENDPOINT") or None,
            # A trigger call in flight keeps its claim renewed: this bounds how long a stalled
            # call holds the queue's worker, not the claim.
            timeout_seconds=env_float("RUNRUN_CLOUDBUILD_TIMEOUT_SECONDS", 20.0),
            command_topic=env_text("RUNRUN_COMMAND_TOPIC") or "deploy-commands",
            service_account=env_text("RUNRUN_CLOUDBUILD_SERVICE_ACCOUNT") or None,
        )


def _triggers(name: str) -> dict[str, str]:
    """`owner/repo=trigger-id,owner/other=trigger-id`: which trigger deploys which repository."""
    mapping: dict[str, str] = {}
    for entry in env_list(name):
        repository, sep, trigger = (part.strip() for part in entry.partition("="))
        if not sep or not repository or not trigger:
            raise ConfigError(f"{name} entries must be owner/repo=trigger-id, got {entry!r}")
        if repository in mapping:
            raise ConfigError(f"{name} names {repository!r} twice")
        mapping[repository] = trigger
    return mapping
