"""The webhook targets: one line per provider, whose description (secret, verifier, delivery
id, handshake, samples) lives in its package under shared/providers/."""

from shared import webhook_target

dropbox_webhook = webhook_target("dropbox")
generic_webhook = webhook_target("generic")
github_webhook = webhook_target("github")
graph_webhook = webhook_target("graph")
meta_webhook = webhook_target("meta")
shopify_webhook = webhook_target("shopify")
slack_events = webhook_target("slack")
standard_webhook = webhook_target("standard")
stripe_webhook = webhook_target("stripe")
twilio_webhook = webhook_target("twilio")
x_webhook = webhook_target("x")
zoom_webhook = webhook_target("zoom")
