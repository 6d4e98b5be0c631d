"""Standard Webhooks senders (Svix and others): its description, its verifier and its samples."""

from shared.providers.standard._description import STANDARD as PROVIDER
from shared.providers.standard._description import STANDARD as STANDARD
from shared.providers.standard._sample import sign_standard as sign_standard
from shared.providers.standard._verify import message_id as message_id
from shared.providers.standard._verify import verify_standard as verify_standard

__all__ = [
    "PROVIDER",
    "STANDARD",
    "message_id",
    "sign_standard",
    "verify_standard",
]
