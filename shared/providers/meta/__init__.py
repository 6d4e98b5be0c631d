"""The meta provider: how its requests are verified."""

from shared.providers.meta._verify import verify_meta as verify_meta

__all__ = [
    "verify_meta",
]
