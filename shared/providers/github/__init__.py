"""The github provider: how its requests are verified."""

from shared.providers.github._verify import verify_github as verify_github

__all__ = [
    "verify_github",
]
