"""Twilio: `X-Twilio-Signature: <base64 HMAC(secret, URL + params)>`.

The signed text is the full public URL the request was sent to, followed, for form posts,
by every POST field as name + value, sorted by name (then value). JSON bodies sign the URL
alone, and the URL carries `bodySHA256` = hex SHA-256 of the body.

Two secrets, never interchangeable:
- no `X-Twilio-Webhooks-Signature-Settings` header: the account auth token, HMAC-SHA1;
- `X-Twilio-Webhooks-Signature-Settings: key=<SharedKey id>,algorithm=HMAC_SHA256` (a Webhook
  Rule matched the URL): the SharedKey's secret, with the algorithm the header names
  (HMAC_SHA1 or HMAC_SHA256; anything else is refused, as Twilio's libraries do). The
  signed text is the same. A header that is not exactly one `key=` and one `algorithm=`
  (unknown extra items aside) is malformed: Twilio's libraries would fall back to SHA-1
  there, we refuse.
The URL is tried as given, without its port and with the default port added, the variants
Twilio's own validator tries, since Twilio's signing side is not consistent about ports.
https://www.twilio.com/docs/usage/webhooks/webhooks-security
https://www.twilio.com/docs/usage/webhooks/webhook-shared-keys
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from shared._errors import NotConfigured, VerificationFailed
from shared.providers._core import Digest, SignedRequest, decode_base64, header, hmac_matches

SIGNATURE = "x-twilio-signature"
SETTINGS = "x-twilio-webhooks-signature-settings"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ALGORITHMS: dict[str, Digest] = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


def _url_variants(url: str) -> list[str]:
    """The URL as given, without any port, and with the scheme's default port when it has
    none: exactly the variants Twilio's RequestValidator accepts."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return [url]
    userinfo, at, hostport = parts.netloc.rpartition("@")
    variants = [url]
    if port is not None:  # the text before the last ":" is the host as sent (case, brackets)
        host = hostport.rsplit(":", 1)[0]
        variants.append(urlunsplit(parts._replace(netloc=userinfo + at + host)))
    elif parts.scheme in _DEFAULT_PORTS:
        netloc = f"{userinfo}{at}{hostport}:{_DEFAULT_PORTS[parts.scheme]}"
        variants.append(urlunsplit(parts._replace(netloc=netloc)))
    return variants


def _shared_key_digest(request: SignedRequest) -> Digest:
    """The hash named by a well-formed signature-settings header."""
    items: dict[str, list[str]] = {}
    for item in header(request, SETTINGS).split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not name.strip():
            raise VerificationFailed(f"malformed {SETTINGS} header: expected key=value items")
        items.setdefault(name.strip(), []).append(value.strip())
    keys, algorithms = items.get("key", []), items.get("algorithm", [])
    if len(keys) != 1 or not keys[0]:
        raise VerificationFailed(f"malformed {SETTINGS} header: expected exactly one key=")
    if len(algorithms) != 1:
        raise VerificationFailed(f"malformed {SETTINGS} header: expected exactly one algorithm=")
    digest = _ALGORITHMS.get(algorithms[0].upper())
    if digest is None:
        raise VerificationFailed(f"{SETTINGS} names an unsupported algorithm")
    return digest


def verify_twilio(
    request: SignedRequest,
    auth_tokens: Sequence[bytes],
    tolerance: int,
    *,
    shared_keys: Sequence[bytes] = (),
    shared_key_env: str = "the shared-key secret",
    auth_token_env: str = "the auth token",
) -> None:
    """Verify with the auth tokens, or, when the request names a SharedKey, with the
    shared-key secrets only. The env names only word the configuration error."""
    signature = decode_base64(header(request, SIGNATURE), SIGNATURE)
    if SETTINGS in request.headers:
        digest, secrets = _shared_key_digest(request), shared_keys
        if not secrets:  # a genuine request we cannot check: the operator must act (500)
            raise NotConfigured(
                f"the request is signed with a Twilio SharedKey: set {shared_key_env}"
            )
    else:
        digest, secrets = hashlib.sha1, auth_tokens
        if not secrets:
            raise NotConfigured(f"the request is signed with the auth token: set {auth_token_env}")
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
    if not any(hmac_matches(secrets, m, [signature], digest) for m in messages):
        raise VerificationFailed("signature does not match")
