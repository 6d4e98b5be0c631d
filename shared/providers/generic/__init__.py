"""Any sender that can set a shared secret header: its description (the verifier is the
shared-secret one, shared.providers._secret)."""

from shared.providers.generic._description import GENERIC as GENERIC

__all__ = [
    "GENERIC",
]
