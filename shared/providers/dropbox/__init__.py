"""Dropbox file-change notifications: its description, its verifier and its samples."""

from shared.providers.dropbox._description import DROPBOX as DROPBOX
from shared.providers.dropbox._description import DROPBOX as PROVIDER
from shared.providers.dropbox._sample import sign_dropbox as sign_dropbox
from shared.providers.dropbox._verify import verify_dropbox as verify_dropbox

__all__ = [
    "DROPBOX",
    "PROVIDER",
    "sign_dropbox",
    "verify_dropbox",
]
