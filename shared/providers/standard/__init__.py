"""The standard provider: how its requests are verified."""

from shared.providers.standard._verify import message_id as message_id
from shared.providers.standard._verify import verify_standard as verify_standard

__all__ = [
    "message_id",
    "verify_standard",
]
