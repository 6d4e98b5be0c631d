"""X (Twitter) Account Activity API events: its description, its verifier and its samples."""

from shared.providers.x._description import X as PROVIDER
from shared.providers.x._description import X as X
from shared.providers.x._sample import sign_x as sign_x
from shared.providers.x._sample import x_crc_response as x_crc_response
from shared.providers.x._verify import verify_x as verify_x

__all__ = [
    "PROVIDER",
    "X",
    "sign_x",
    "verify_x",
    "x_crc_response",
]
