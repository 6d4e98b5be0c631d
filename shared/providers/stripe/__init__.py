"""Stripe events, signed with the endpoint's whsec_ secret: description and verifier."""

from shared.providers.stripe._description import STRIPE as STRIPE
from shared.providers.stripe._verify import verify_stripe as verify_stripe

__all__ = [
    "STRIPE",
    "verify_stripe",
]
