"""How Dropbox signs and sends a notification, and its verification request, for
`runrun send`.

https://www.dropbox.com/developers/reference/webhooks#notifications
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


def sign_dropbox(secret: bytes, body: bytes) -> str:
    """`X-Dropbox-Signature`: hex HMAC-SHA256 of the body."""
    return hmac_digest(secret, body).hex()


def _build(draft: Draft) -> Outgoing:
    if draft.event == "challenge":
        challenge = draft.delivery_id
        url = with_query(draft.url, challenge=challenge)
        return Outgoing("GET", url, {}, b"", echoed(challenge))
    signature = sign_dropbox(draft.secret.encode(), draft.body)
    return json_post(draft, {"X-Dropbox-Signature": signature}, ("X-Dropbox-Signature",))


SAMPLES = Samples(
    Path(__file__).with_name("samples"),
    ("list_folder", "challenge"),
    _build,
    bodyless=frozenset({"challenge"}),
    keyless=frozenset({"challenge"}),
)
