"""The dropbox provider: how its requests are verified."""

from shared.providers.dropbox._verify import verify_dropbox as verify_dropbox

__all__ = [
    "verify_dropbox",
]
