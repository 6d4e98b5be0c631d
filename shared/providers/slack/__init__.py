"""The slack provider: how its requests are verified."""

from shared.providers.slack._verify import verify_slack as verify_slack

__all__ = [
    "verify_slack",
]
