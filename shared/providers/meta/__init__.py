"""Meta webhooks (WhatsApp Business, Messenger, Instagram): description, verifier and samples."""

from shared.providers.meta._description import META as META
from shared.providers.meta._description import META as PROVIDER
from shared.providers.meta._sample import sign_meta as sign_meta
from shared.providers.meta._verify import verify_meta as verify_meta

__all__ = [
    "META",
    "PROVIDER",
    "sign_meta",
    "verify_meta",
]
