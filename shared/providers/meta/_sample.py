"""How Meta signs and sends an update, and its subscription check, for `runrun send`.

https://developers.facebook.com/docs/graph-api/webhooks/getting-started#validate-payloads
"""

from __future__ import annotations

from pathlib import Path

from shared.providers._samples import (
    Draft,
    Outgoing,
    Samples,
    echoed,
    hmac_digest,
    json_post,
    with_query,
)


def sign_meta(secret: bytes, body: bytes) -> str:
    """`X-Hub-Signature-256`: `sha256=<hex HMAC-SHA256 of the body>` (as GitHub signs)."""
    return "sha256=" + hmac_digest(secret, body).hex()


def _build(draft: Draft) -> Outgoing:
    if draft.event == "subscribe":  # the GET check, with the verify token as secret
        challenge = draft.delivery_id[:10]
        url = with_query(
            draft.url,
            **{"hub.mode": "subscribe", "hub.verify_token": draft.secret},
            **{"hub.challenge": challenge},
        )
        return Outgoing("GET", url, {}, b"", echoed(challenge), hidden_values=(draft.secret,))
    signature = sign_meta(draft.secret.encode(), draft.body)
    headers = {"User-Agent": "facebookexternalua", "X-Hub-Signature-256": signature}
    return json_post(draft, headers, ("X-Hub-Signature-256",))


SAMPLES = Samples(
    Path(__file__).with_name("samples"),
    ("messages", "subscribe"),
    _build,
    hook_env_events=frozenset({"subscribe"}),
    bodyless=frozenset({"subscribe"}),
)
