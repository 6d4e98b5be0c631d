"""Shopify app and shop webhooks: its description, its verifier and its samples."""

from shared.providers.shopify._description import SHOPIFY as PROVIDER
from shared.providers.shopify._description import SHOPIFY as SHOPIFY
from shared.providers.shopify._sample import sign_shopify as sign_shopify
from shared.providers.shopify._verify import verify_shopify as verify_shopify

__all__ = [
    "PROVIDER",
    "SHOPIFY",
    "sign_shopify",
    "verify_shopify",
]
