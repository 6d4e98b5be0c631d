"""Twilio messaging and voice webhooks and status callbacks: description, verifier and samples."""

from shared.providers.twilio._description import TWILIO as PROVIDER
from shared.providers.twilio._description import TWILIO as TWILIO
from shared.providers.twilio._sample import sign_twilio as sign_twilio
from shared.providers.twilio._sample import twilio_body_url as twilio_body_url
from shared.providers.twilio._verify import verify_twilio as verify_twilio

__all__ = [
    "PROVIDER",
    "TWILIO",
    "sign_twilio",
    "twilio_body_url",
    "verify_twilio",
]
