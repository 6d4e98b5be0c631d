"""Every target, re-exported so that `functions-framework --target NAME` (default source
main.py) and Cloud Functions (`--source . --entry-point NAME`) find each one here."""

from functions.generic import generic_webhook
from functions.github import github_webhook
from functions.process import process_delivery
from functions.slack import slack_events
from functions.stripe import stripe_webhook

__all__ = [
    "generic_webhook",
    "github_webhook",
    "process_delivery",
    "slack_events",
    "stripe_webhook",
]
