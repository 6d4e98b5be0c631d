"""Stripe events, signed with the endpoint's whsec_ secret: description, verifier and samples."""

from shared.providers.stripe._description import STRIPE as PROVIDER
from shared.providers.stripe._description import STRIPE as STRIPE
from shared.providers.stripe._sample import sign_stripe as sign_stripe
from shared.providers.stripe._verify import verify_stripe as verify_stripe

__all__ = [
    "PROVIDER",
    "STRIPE",
    "sign_stripe",
    "verify_stripe",
]
