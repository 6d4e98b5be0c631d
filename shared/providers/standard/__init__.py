"""Standard Webhooks senders (Svix and others): its description and its verifier."""

from shared.providers.standard._description import STANDARD as STANDARD
from shared.providers.standard._verify import message_id as message_id
from shared.providers.standard._verify import verify_standard as verify_standard

__all__ = [
    "STANDARD",
    "message_id",
    "verify_standard",
]
