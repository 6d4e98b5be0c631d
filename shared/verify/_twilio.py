"""Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1(auth token, URL + params)>`.

The signed text is the full public URL the request was sent to, followed, for form posts,
by every POST field as name + value, sorted by name (then value). JSON bodies sign the URL
alone, and the URL carries `bodySHA256` = hex SHA-256 of the body. Twilio's own libraries
also accept the URL with the default port added or removed, since proxies differ on it.
https://www.twilio.com/docs/usage/webhooks/webhooks-security
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .._errors import VerificationFailed
from ._core import SignedRequest, decode_base64, header, hmac_matches

SIGNATURE = "x-twilio-signature"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _url_variants(url: str) -> list[str]:
    """The URL as given, plus the same URL with its default port toggled."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    default = _DEFAULT_PORTS.get(parts.scheme)
    host = parts.netloc.rsplit("@", 1)[-1]
    if port is None and default is not None:
        other = f"{host}:{default}"
    elif port is not None and port == default:
        other = host.rsplit(":", 1)[0]
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=other))]


def verify_twilio(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    signature = decode_base64(header(request, SIGNATURE), SIGNATURE)
    try:
        urlsplit(request.url)
    except ValueError:  # e.g. a Host or X-Forwarded-Host with an unclosed "[": no URL
        raise VerificationFailed("the request's URL cannot be rebuilt") from None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        suffix = "".join(name + value for name, value in sorted(set(request.form)))
    else:
        query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        # The body hash is not a secret: a plain comparison leaks nothing.
        if query.get("bodySHA256", "").lower() != hashlib.sha256(request.body).hexdigest():
            raise VerificationFailed("bodySHA256 in the URL does not match the body")
        suffix = ""
    messages = [(url + suffix).encode() for url in _url_variants(request.url)]
    if not any(hmac_matches(secrets, m, [signature], hashlib.sha1) for m in messages):
        raise VerificationFailed("signature does not match")
