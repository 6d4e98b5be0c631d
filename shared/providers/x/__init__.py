"""X (Twitter) Account Activity API events: its description and its verifier."""

from shared.providers.x._description import X as X
from shared.providers.x._verify import verify_x as verify_x

__all__ = [
    "X",
    "verify_x",
]
