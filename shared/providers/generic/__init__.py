"""Any sender that can set a shared secret header: its description (the verifier is the
shared-secret one, shared.providers._secret) and its samples."""

from shared.providers.generic._description import GENERIC as GENERIC
from shared.providers.generic._description import GENERIC as PROVIDER

__all__ = [
    "GENERIC",
    "PROVIDER",
]
