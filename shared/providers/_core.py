"""The one verification core: header extraction, decoding, timestamp tolerance and the
constant-time comparison. Provider adapters only say which bytes are signed and where the
signature lives; every malformed input becomes the one VerificationFailed (401), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from shared._errors import VerificationFailed

# Real signature headers are well under 1 KiB; anything far larger is garbage, not a signature.
MAX_HEADER_CHARS = 4096

Digest = Callable[[], "hashlib._Hash"]


@dataclass(frozen=True)
class SignedRequest:
    """What a verifier sees: the raw body, lower-cased header names and the public URL."""

    body: bytes
    headers: Mapping[str, str]
    url: str = ""
    form: Sequence[tuple[str, str]] = ()  # urlencoded fields in order (Twilio signs them)
    now: float = field(default_factory=time.time)
    # Each secret variable's values, for a provider whose schemes each take their own secret
    # (Twilio: the auth token, or a webhook shared key); the flat list covers the rest.
    secrets_by_env: Mapping[str, Sequence[bytes]] = field(default_factory=dict)


def header(request: SignedRequest, name: str) -> str:
    """The single, ASCII, reasonably sized value of header `name` (lower-case)."""
    value = request.headers.get(name)
    if value is None or not value.strip():
        raise VerificationFailed(f"missing {name} header")
    if len(value) > MAX_HEADER_CHARS or not value.isascii():
        raise VerificationFailed(f"malformed {name} header")
    return value.strip()


def decode_hex(value: str, name: str) -> bytes:
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise VerificationFailed(f"malformed {name} header: not hex") from None


def decode_base64(value: str, name: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationFailed(f"malformed {name} header: not base64") from None


Encoding = Literal["hex", "base64"]


def decode(value: str, name: str, encoding: Encoding) -> bytes:
    """A signature in `encoding`; anything undecodable is the one VerificationFailed."""
    return decode_hex(value, name) if encoding == "hex" else decode_base64(value, name)


def sign(secret: bytes, message: bytes, digest: Digest = hashlib.sha256) -> bytes:
    """HMAC(secret, message): what a challenge answer proves we hold (Zoom, X CRC)."""
    return hmac.new(secret, message, digest).digest()


def verify_body_hmac(
    request: SignedRequest,
    secrets: Sequence[bytes],
    name: str,
    *,
    prefix: str = "",
    encoding: Encoding = "hex",
    digest: Digest = hashlib.sha256,
) -> None:
    """The commonest scheme: header `name` = prefix + encoded HMAC(secret, raw body)."""
    value = strip_prefix(header(request, name), prefix, name) if prefix else header(request, name)
    require_hmac(secrets, request.body, [decode(value, name, encoding)], digest)


def check_timestamp(value: str, name: str, now: float, tolerance: int) -> int:
    """Parse a Unix timestamp header and refuse it outside +-tolerance seconds (replay guard)."""
    if not value.isdigit() or len(value) > 12:
        raise VerificationFailed(f"malformed {name} header: not a Unix timestamp")
    stamp = int(value)
    if abs(now - stamp) > tolerance:
        raise VerificationFailed(f"{name} is outside the {tolerance} s tolerance")
    return stamp


def hmac_matches(
    secrets: Sequence[bytes],
    message: bytes,
    candidates: Iterable[bytes],
    digest: Digest = hashlib.sha256,
) -> bool:
    """True when any candidate equals HMAC(secret, message) for any secret, compared in
    constant time. Several secrets serve rotation; several candidates serve providers that
    send one signature per active secret (Stripe, Standard Webhooks)."""
    expected = [hmac.new(secret, message, digest).digest() for secret in secrets]
    found = False
    for candidate in candidates:
        for mac in expected:
            # No early exit: the time taken does not depend on which secret matched.
            found |= hmac.compare_digest(mac, candidate)
    return found


def require_hmac(
    secrets: Sequence[bytes],
    message: bytes,
    candidates: Iterable[bytes],
    digest: Digest = hashlib.sha256,
) -> None:
    """Raise VerificationFailed unless `hmac_matches`."""
    if not hmac_matches(secrets, message, candidates, digest):
        raise VerificationFailed("signature does not match")


def ed25519_matches(
    public_keys: Sequence[bytes], message: bytes, candidates: Iterable[bytes]
) -> bool:
    """True when any candidate is a valid ed25519 signature of `message` by any key."""
    # Imported here: only Standard Webhooks' v1a needs it, and it adds to every cold start.
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    keys = [Ed25519PublicKey.from_public_bytes(key) for key in public_keys]
    found = False
    for candidate in candidates:
        for key in keys:
            try:
                key.verify(candidate, message)
                found = True
            except InvalidSignature:
                pass
    return found


def require_secret(secrets: Sequence[bytes], given: str) -> None:
    """Compare a shared secret sent as-is; both sides are hashed first so that the comparison
    takes the same time whatever the lengths."""
    given_digest = hashlib.sha256(given.encode()).digest()
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(hashlib.sha256(secret).digest(), given_digest)
    if not found:
        raise VerificationFailed("secret does not match")


def strip_prefix(value: str, prefix: str, name: str) -> str:
    if not value.startswith(prefix):
        raise VerificationFailed(f"malformed {name} header: expected {prefix!r} prefix")
    return value[len(prefix) :]


def require_v0_timestamped(
    request: SignedRequest,
    secrets: Sequence[bytes],
    tolerance: int,
    *,
    signature: str,
    timestamp: str,
) -> None:
    """The `v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` scheme that Slack and Zoom share,
    each under its own header names."""
    stamp = header(request, timestamp)
    check_timestamp(stamp, timestamp, request.now, tolerance)
    value = strip_prefix(header(request, signature), "v0=", signature)
    message = b"v0:" + stamp.encode() + b":" + request.body
    require_hmac(secrets, message, [decode_hex(value, signature)])
