"""The x provider: how its requests are verified."""

from shared.providers.x._verify import verify_x as verify_x

__all__ = [
    "verify_x",
]
