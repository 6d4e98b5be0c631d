"""Every target, re-exported so that `functions-framework --target NAME` (default source
main.py) and Cloud Functions (`--source . --entry-point NAME`) find each one here; and the
bundle's hooks, which `runrun serve` reads from here (`runrun.hooks`)."""

from functions import runrun_hooks as runrun_hooks  # what `runrun serve` reads (runrun.hooks)
from functions.dialogflow import dialogflow_webhook
from functions.process import process_delivery
from functions.webhooks import (
    dropbox_webhook,
    generic_webhook,
    github_webhook,
    graph_webhook,
    meta_webhook,
    shopify_webhook,
    slack_events,
    standard_webhook,
    stripe_webhook,
    twilio_webhook,
    x_webhook,
    zoom_webhook,
)

__all__ = [
    "dialogflow_webhook",
    "dropbox_webhook",
    "generic_webhook",
    "github_webhook",
    "graph_webhook",
    "meta_webhook",
    "process_delivery",
    "shopify_webhook",
    "slack_events",
    "standard_webhook",
    "stripe_webhook",
    "twilio_webhook",
    "x_webhook",
    "zoom_webhook",
]
