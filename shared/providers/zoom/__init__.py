"""Zoom event subscriptions: its description and its verifier."""

from shared.providers.zoom._description import ZOOM as ZOOM
from shared.providers.zoom._verify import verify_zoom as verify_zoom

__all__ = [
    "ZOOM",
    "verify_zoom",
]
