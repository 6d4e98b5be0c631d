"""The shopify provider: how its requests are verified."""

from shared.providers.shopify._verify import verify_shopify as verify_shopify

__all__ = [
    "verify_shopify",
]
