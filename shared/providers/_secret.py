"""A shared secret sent as-is: header `Secret` (the seed's) or `Authorization: Bearer`."""

from __future__ import annotations

from collections.abc import Sequence

from shared._errors import VerificationFailed
from shared.providers._core import SignedRequest, header, require_secret


def verify_shared_secret(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    if request.headers.get("secret") is not None:
        given = header(request, "secret")
    elif request.headers.get("authorization") is not None:
        scheme, _, token = header(request, "authorization").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise VerificationFailed("malformed authorization header: expected 'Bearer <secret>'")
        given = token.strip()
    else:
        raise VerificationFailed("missing secret: send header Secret or Authorization: Bearer")
    require_secret(secrets, given)
