"""GitHub repository and organization webhooks: its description and its verifier."""

from shared.providers.github._description import GITHUB as GITHUB
from shared.providers.github._verify import verify_github as verify_github

__all__ = [
    "GITHUB",
    "verify_github",
]
