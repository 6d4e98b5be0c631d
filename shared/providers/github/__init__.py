"""GitHub repository and organization webhooks: its description, its verifier and its samples."""

from shared.providers.github._description import GITHUB as GITHUB
from shared.providers.github._description import GITHUB as PROVIDER
from shared.providers.github._sample import sign_github as sign_github
from shared.providers.github._verify import verify_github as verify_github

__all__ = [
    "GITHUB",
    "PROVIDER",
    "sign_github",
    "verify_github",
]
