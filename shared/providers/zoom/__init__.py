"""The zoom provider: how its requests are verified."""

from shared.providers.zoom._verify import verify_zoom as verify_zoom

__all__ = [
    "verify_zoom",
]
