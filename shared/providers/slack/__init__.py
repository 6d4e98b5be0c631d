"""Slack's Events API: its description and its verifier."""

from shared.providers.slack._description import SLACK as SLACK
from shared.providers.slack._verify import verify_slack as verify_slack

__all__ = [
    "SLACK",
    "verify_slack",
]
