"""Standard Webhooks: `webhook-id`, `webhook-timestamp` and `webhook-signature`, a
space-separated list of `v1,<base64 HMAC-SHA256>` and `v1a,<base64 ed25519>` entries over
`"{id}.{timestamp}.{body}"`. Several entries appear while keys rotate; any one valid is enough.

Svix, the reference sender, names the same three headers `svix-id`, `svix-timestamp` and
`svix-signature` unless an account white-labels them to `webhook-*`. A request is read in ONE
family, never a mix: `svix-*` as soon as any `svix-` header is present (Svix's own library
prefers them too), else `webhook-*`; the delivery id is always the id that was signed.

Keys are told apart by prefix: `whsec_<base64>` (an HMAC secret; an unprefixed value is read
the same way, as the reference libraries do) and `whpk_<base64>` (an ed25519 public key).
Entries that cannot be decoded are skipped, like unknown versions; a header with no usable
entry is malformed (401), never a ValueError.
https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared._errors import NotConfigured, VerificationFailed
from shared.providers._core import (
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
SVIX_ID = "svix-id"
SVIX_TIMESTAMP = "svix-timestamp"
SVIX_SIGNATURE = "svix-signature"


def header_names(headers: Mapping[str, str]) -> tuple[str, str, str]:
    """(id, timestamp, signature) header names of the family this request uses."""
    if any(name in headers for name in (SVIX_ID, SVIX_TIMESTAMP, SVIX_SIGNATURE)):
        return SVIX_ID, SVIX_TIMESTAMP, SVIX_SIGNATURE
    return ID, TIMESTAMP, SIGNATURE


def message_id(headers: Mapping[str, str]) -> str | None:
    """The delivery id: the signed message id, from the same family `verify_standard` read."""
    return headers.get(header_names(headers)[0], "").strip() or None


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
    id_name, stamp_name, signature_name = header_names(request.headers)
    signed_id = header(request, id_name)
    stamp = header(request, stamp_name)
    check_timestamp(stamp, stamp_name, request.now, tolerance)
    hmacs: list[bytes] = []
    signatures: list[bytes] = []
    for entry in header(request, signature_name).split(" "):
        version, sep, encoded = entry.partition(",")
        if not sep or version not in ("v1", "v1a"):
            continue
        try:
            decoded = decode_base64(encoded, signature_name)
        except VerificationFailed:
            continue
        (hmacs if version == "v1" else signatures).append(decoded)
    if not hmacs and not signatures:
        raise VerificationFailed(f"malformed {signature_name} header: no v1 or v1a signature")
    message = f"{signed_id}.{stamp}.".encode() + request.body
    if not (
        hmac_matches(secret_keys, message, hmacs)
        | ed25519_matches(public_keys, message, signatures)
    ):
        raise VerificationFailed("signature does not match")
