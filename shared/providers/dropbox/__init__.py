"""Dropbox file-change notifications: its description and its verifier."""

from shared.providers.dropbox._description import DROPBOX as DROPBOX
from shared.providers.dropbox._verify import verify_dropbox as verify_dropbox

__all__ = [
    "DROPBOX",
    "verify_dropbox",
]
