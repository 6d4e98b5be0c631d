"""runrun's deploy side: two plans (a one-time setup run by an Owner, a per-commit deploy
run by a build account holding only what a deploy needs), cloudbuild.yaml, the check of
both against gcloud's own --help, and the dead letters. docs/deploy.md tells the story.
"""

from ._cloudbuild import cloudbuild_yaml as cloudbuild_yaml
from ._needs import DeployNeeds as DeployNeeds
from ._needs import QueueNeeds as QueueNeeds
from ._plans import MODES as MODES
from ._plans import deploy_by_hand as deploy_by_hand
from ._plans import deploy_step as deploy_step
from ._plans import event_triggers as event_triggers
from ._plans import setup_plan as setup_plan
from ._settings import PlanSettings as PlanSettings
from ._settings import PlanSettingsError as PlanSettingsError

__all__ = [
    "MODES",
    "DeployNeeds",
    "PlanSettings",
    "PlanSettingsError",
    "QueueNeeds",
    "cloudbuild_yaml",
    "deploy_by_hand",
    "deploy_step",
    "event_triggers",
    "setup_plan",
]
