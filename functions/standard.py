"""`standard_webhook`: any sender following the Standard Webhooks specification (Svix,
Resend, Clerk, ...), with HMAC secrets (whsec_) and/or ed25519 public keys (whpk_).

https://www.standardwebhooks.com/
"""

import flask
import functions_framework

from shared import Provider, receive, text_of
from shared.verify import verify_standard

STANDARD = Provider(
    target="standard_webhook",
    secret_env="STANDARD_WEBHOOK_SECRET",
    key_envs=("STANDARD_WEBHOOK_PUBLIC_KEY",),
    verify=verify_standard,
    delivery_id=lambda inbound: inbound.headers.get("webhook-id", "").strip() or None,
    delivery_id_source="header webhook-id",
    event_type=lambda inbound: text_of(inbound.field("type")) or "",
    tolerance_env="STANDARD_WEBHOOK_TOLERANCE_SECONDS",
)


@functions_framework.http
def standard_webhook(request: flask.Request) -> flask.Response:
    return receive(request, STANDARD)
