"""How each provider signs a delivery, written from the providers' documentation with
hmac/hashlib/base64 alone.

Deliberately independent of `shared.providers`: `runrun send` exercises those verifiers, and a
mistake shared by both sides would cancel itself out. The tests hold these functions to the
providers' published example vectors instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable


def _hmac(secret: bytes, message: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(secret, message, digest).digest()


def github(secret: bytes, body: bytes) -> str:
    """`X-Hub-Signature-256` (Meta signs the same way)."""
    return "sha256=" + _hmac(secret, body).hex()


def stripe(secret: bytes, timestamp: int, body: bytes) -> str:
    """`Stripe-Signature`: `t=<unix>,v1=<hex HMAC of "{t}.{body}">`."""
    signature = _hmac(secret, f"{timestamp}.".encode() + body).hex()
    return f"t={timestamp},v1={signature}"


def slack(secret: bytes, timestamp: int, body: bytes) -> str:
    """`X-Slack-Signature`: `v0=<hex HMAC of "v0:{ts}:{body}">`."""
    return "v0=" + _hmac(secret, f"v0:{timestamp}:".encode() + body).hex()


def zoom(secret: bytes, timestamp: int, body: bytes) -> str:
    """`x-zm-signature`: the same shape as Slack's."""
    return "v0=" + _hmac(secret, f"v0:{timestamp}:".encode() + body).hex()


def zoom_encrypted_token(secret: bytes, plain_token: str) -> str:
    """What Zoom expects back for `endpoint.url_validation`."""
    return _hmac(secret, plain_token.encode()).hex()


def shopify(secret: bytes, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the body."""
    return base64.b64encode(_hmac(secret, body)).decode()


def x(secret: bytes, body: bytes) -> str:
    """`x-twitter-webhooks-signature`: `sha256=<base64 HMAC>`."""
    return "sha256=" + base64.b64encode(_hmac(secret, body)).decode()


def x_crc_response(secret: bytes, crc_token: str) -> str:
    """What X expects back for a CRC check (`response_token`)."""
    return "sha256=" + base64.b64encode(_hmac(secret, crc_token.encode())).decode()


def dropbox(secret: bytes, body: bytes) -> str:
    """`X-Dropbox-Signature`: hex HMAC-SHA256 of the body."""
    return _hmac(secret, body).hex()


def twilio(auth_token: bytes, url: str, params: Iterable[tuple[str, str]]) -> str:
    """`X-Twilio-Signature`: base64 HMAC-SHA1 of the URL followed by every POST field,
    sorted by name, each as name + value."""
    message = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(_hmac(auth_token, message.encode(), "sha1")).decode()


def twilio_body_url(url: str, body: bytes) -> str:
    """A JSON body is not a form: Twilio signs the URL with `bodySHA256=<hex>` added."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}bodySHA256={hashlib.sha256(body).hexdigest()}"


def standard(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: `v1,<base64 HMAC of "{id}.{ts}.{body}">`, keyed with the
    base64-decoded part of a `whsec_` secret."""
    key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    message = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(_hmac(key, message)).decode()
