"""Zoom event subscriptions: its description, its verifier and its samples."""

from shared.providers.zoom._description import ZOOM as PROVIDER
from shared.providers.zoom._description import ZOOM as ZOOM
from shared.providers.zoom._sample import sign_zoom as sign_zoom
from shared.providers.zoom._sample import zoom_encrypted_token as zoom_encrypted_token
from shared.providers.zoom._verify import verify_zoom as verify_zoom

__all__ = [
    "PROVIDER",
    "ZOOM",
    "sign_zoom",
    "verify_zoom",
    "zoom_encrypted_token",
]
