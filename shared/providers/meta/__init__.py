"""Meta webhooks (WhatsApp Business, Messenger, Instagram): description and verifier."""

from shared.providers.meta._description import META as META
from shared.providers.meta._verify import verify_meta as verify_meta

__all__ = [
    "META",
    "verify_meta",
]
