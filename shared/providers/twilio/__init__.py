"""The twilio provider: how its requests are verified."""

from shared.providers.twilio._verify import verify_twilio as verify_twilio

__all__ = [
    "verify_twilio",
]
