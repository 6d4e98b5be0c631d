"""How GitHub signs and sends a delivery, for `runrun send`.

https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
"""

from __future__ import annotations

from pathlib import Path

from shared.providers._samples import Draft, Outgoing, Samples, hmac_digest, json_post, uuid_of


def sign_github(secret: bytes, body: bytes) -> str:
    """`X-Hub-Signature-256` (Meta signs the same way)."""
    return "sha256=" + hmac_digest(secret, body).hex()


def _build(draft: Draft) -> Outgoing:
    headers = {
        "User-Agent": "GitHub-Hookshot/runrun-send",
        "X-GitHub-Event": draft.event,
        "X-GitHub-Delivery": uuid_of(draft),
        "X-GitHub-Hook-ID": "12345678",
        "X-Hub-Signature-256": sign_github(draft.secret.encode(), draft.body),
    }
    return json_post(draft, headers, ("X-Hub-Signature-256",))


SAMPLES = Samples(Path(__file__).with_name("samples"), ("push", "ping", "issues"), _build)
