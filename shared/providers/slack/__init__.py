"""Slack's Events API: its description, its verifier and its samples."""

from shared.providers.slack._description import SLACK as PROVIDER
from shared.providers.slack._description import SLACK as SLACK
from shared.providers.slack._sample import sign_slack as sign_slack
from shared.providers.slack._verify import verify_slack as verify_slack

__all__ = [
    "PROVIDER",
    "SLACK",
    "sign_slack",
    "verify_slack",
]
