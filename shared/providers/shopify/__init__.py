"""Shopify app and shop webhooks: its description and its verifier."""

from shared.providers.shopify._description import SHOPIFY as SHOPIFY
from shared.providers.shopify._verify import verify_shopify as verify_shopify

__all__ = [
    "SHOPIFY",
    "verify_shopify",
]
