"""Twilio messaging and voice webhooks and status callbacks: description and verifier."""

from shared.providers.twilio._description import TWILIO as TWILIO
from shared.providers.twilio._verify import verify_twilio as verify_twilio

__all__ = [
    "TWILIO",
    "verify_twilio",
]
