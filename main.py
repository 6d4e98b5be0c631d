"""Every target, re-exported so that `functions-framework --target NAME` (default source
main.py) and Cloud Functions (`--source . --entry-point NAME`) find each one here; and the
bundle's hooks, which `runrun serve` reads from here (`runrun.hooks`)."""

from functions import runrun_hooks as runrun_hooks  # what `runrun serve` reads (runrun.hooks)
from functions.dialogflow import dialogflow_webhook
from functions.dropbox import dropbox_webhook
from functions.generic import generic_webhook
from functions.github import github_webhook
from functions.graph import graph_webhook
from functions.meta import meta_webhook
from functions.process import process_delivery
from functions.shopify import shopify_webhook
from functions.slack import slack_events
from functions.standard import standard_webhook
from functions.stripe import stripe_webhook
from functions.twilio import twilio_webhook
from functions.x import x_webhook
from functions.zoom import zoom_webhook

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
