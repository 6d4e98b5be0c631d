"""`standard_webhook`: any sender following the Standard Webhooks specification (Svix,
Resend, Clerk, ...), with HMAC secrets (whsec_) and/or ed25519 public keys (whpk_). Svix's
default `svix-id`/`svix-timestamp`/`svix-signature` headers are read as well as `webhook-*`.

https://www.standardwebhooks.com/
"""

from __future__ import annotations

from shared.providers._provider import Provider, text_of
from shared.providers.standard._sample import SAMPLES
from shared.providers.standard._verify import message_id as standard_message_id
from shared.providers.standard._verify import verify_standard

STANDARD = Provider(
    target="standard_webhook",
    secret_env="STANDARD_WEBHOOK_SECRET",
    key_envs=("STANDARD_WEBHOOK_PUBLIC_KEY",),
    verify=verify_standard,
    delivery_id=lambda inbound: standard_message_id(inbound.headers),
    delivery_id_source="header webhook-id (svix-id from Svix)",
    event_type=lambda inbound: text_of(inbound.field("type")) or "",
    tolerance_env="STANDARD_WEBHOOK_TOLERANCE_SECONDS",
    answer_window_seconds=15,  # Standard Webhooks: 15-30 s; the shorter end
    samples=SAMPLES,
)
