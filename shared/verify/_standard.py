"""Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature`, a
space-separated list of `v1,<base64 HMAC-SHA256>` and `v1a,<base64 ed25519>` entries over
`"{id}.{timestamp}.{body}"`. Several entries appear while keys rotate; any one valid is enough.

Keys are told apart by prefix: `whsec_<base64>` (an HMAC secret; an unprefixed value is read
the same way, as the reference libraries do) and `whpk_<base64>` (an ed25519 public key).
Entries that cannot be decoded are skipped, like unknown versions; a header with no usable
entry is malformed (401), never a ValueError.
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import NotConfigured, VerificationFailed
from ._core import (
    SignedRequest,
    check_timestamp,
    decode_base64,
    ed25519_matches,
    header,
    hmac_matches,
)

ID = "webhook-id"
TIMESTAMP = "webhook-timestamp"
SIGNATURE = "webhook-signature"


def _keys(secrets: Sequence[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(HMAC secrets, ed25519 public keys) from the configured values."""
    secret_keys: list[bytes] = []
    public_keys: list[bytes] = []
    for value in secrets:
        text = value.decode("ascii", errors="replace")
        kind, raw = ("whpk_", text[5:]) if text.startswith("whpk_") else ("whsec_", text)
        if text.startswith("whsk_"):
            raise NotConfigured("a whsk_ key is a private signing key: configure its whpk_ key")
        try:
            key = decode_base64(raw.removeprefix("whsec_"), "key")
        except VerificationFailed:
            raise NotConfigured(f"a configured {kind} key is not base64") from None
        if kind == "whpk_" and len(key) != 32:
            raise NotConfigured("a configured whpk_ key is not a 32-byte ed25519 public key")
        (public_keys if kind == "whpk_" else secret_keys).append(key)
    return secret_keys, public_keys


def verify_standard(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    secret_keys, public_keys = _keys(secrets)
    message_id = header(request, ID)
    stamp = header(request, TIMESTAMP)
    check_timestamp(stamp, TIMESTAMP, request.now, tolerance)
    hmacs: list[bytes] = []
    signatures: list[bytes] = []
    for entry in header(request, SIGNATURE).split(" "):
        version, sep, encoded = entry.partition(",")
        if not sep or version not in ("v1", "v1a"):
            continue
        try:
            decoded = decode_base64(encoded, SIGNATURE)
        except VerificationFailed:
            continue
        (hmacs if version == "v1" else signatures).append(decoded)
    if not hmacs and not signatures:
        raise VerificationFailed(f"malformed {SIGNATURE} header: no v1 or v1a signature")
    message = f"{message_id}.{stamp}.".encode() + request.body
    if not (
        hmac_matches(secret_keys, message, hmacs)
        | ed25519_matches(public_keys, message, signatures)
    ):
        raise VerificationFailed("signature does not match")
