"""Deploy to staging: a push to a repository's default branch runs its Cloud Build trigger."""

from shared.processors.deploy_staging._cloudbuild import Push as Push
from shared.processors.deploy_staging._cloudbuild import default_branch_push as default_branch_push
from shared.processors.deploy_staging._cloudbuild import delivery_tag as delivery_tag
from shared.processors.deploy_staging._cloudbuild import deploy_push as deploy_push

__all__ = [
    "Push",
    "default_branch_push",
    "delivery_tag",
    "deploy_push",
]
