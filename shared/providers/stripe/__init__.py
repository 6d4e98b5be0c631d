"""The stripe provider: how its requests are verified."""

from shared.providers.stripe._verify import verify_stripe as verify_stripe

__all__ = [
    "verify_stripe",
]
