"""The webhook targets: one line per provider, whose description (secret, verifier, delivery
id, handshake) lives in its package under shared/providers/."""

from shared import webhook_target
from shared.providers import (
    DROPBOX,
    GENERIC,
    GITHUB,
    GRAPH,
    META,
    SHOPIFY,
    SLACK,
    STANDARD,
    STRIPE,
    TWILIO,
    ZOOM,
    X,
)

dropbox_webhook = webhook_target(DROPBOX)
generic_webhook = webhook_target(GENERIC)
github_webhook = webhook_target(GITHUB)
graph_webhook = webhook_target(GRAPH)
meta_webhook = webhook_target(META)
shopify_webhook = webhook_target(SHOPIFY)
slack_events = webhook_target(SLACK)
standard_webhook = webhook_target(STANDARD)
stripe_webhook = webhook_target(STRIPE)
twilio_webhook = webhook_target(TWILIO)
x_webhook = webhook_target(X)
zoom_webhook = webhook_target(ZOOM)
