"""Google-signed OIDC tokens: Pub/Sub push and Cloud Tasks HTTP targets.

`Authorization: Bearer <JWT>` signed by Google; we check the signature against Google's
certificates, `iss`, `aud` (PUSH_AUDIENCE), `exp`, and that `email` is a verified address
in PUSH_SERVICE_ACCOUNT. The audience alone is not enough: any Google account can mint a
token for any audience, so the service account is required whenever the check is on.
https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from shared._errors import BackendUnavailable, NotConfigured, VerificationFailed
from shared.providers._core import SignedRequest, header
from shared.settings._env import oidc_certs_url, secrets_from_env

if TYPE_CHECKING:
    from google.auth.transport.requests import Request

AUDIENCE_ENV = "PUSH_AUDIENCE"
ACCOUNT_ENV = "PUSH_SERVICE_ACCOUNT"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CLOCK_SKEW_SECONDS = 10


# Google rotates these keys over days and serves them with Cache-Control max-age; without a
# cache every push would wait on a fetch from Google before it could be acknowledged.
DEFAULT_CERTS_MAX_AGE = 300.0


class CertificateCache:
    """A google-auth transport that keeps successful certificate GETs for their max-age
    (the runtime holds one per process)."""

    def __init__(self) -> None:
        from google.auth.transport.requests import Request

        self._inner = Request()
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Any]] = {}

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        if method != "GET":
            return self._inner(url, method=method, **kwargs)
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        response = self._inner(url, method=method, **kwargs)
        if response.status == 200:
            expires = time.monotonic() + _max_age(response.headers.get("cache-control", ""))
            with self._lock:
                self._cache[url] = (expires, response)
        return response


def _max_age(cache_control: str) -> float:
    match = re.search(r"max-age=(\d+)", cache_control)
    return min(float(match.group(1)), 86400.0) if match else DEFAULT_CERTS_MAX_AGE


def push_auth_enabled() -> bool:
    """True when PUSH_AUDIENCE is set: internal requests must then carry a Google token."""
    return bool(secrets_from_env(AUDIENCE_ENV))


def verify_google_oidc(
    headers: Mapping[str, str],
    certificates: Any,
    *,
    audiences: Sequence[str] | None = None,
    accounts: Sequence[str] | None = None,
    names: tuple[str, str] = (AUDIENCE_ENV, ACCOUNT_ENV),
) -> Mapping[str, Any]:
    """Check the bearer token in `headers` (lower-cased names) and return its claims;
    `certificates` is the transport fetching Google's certificates (a CertificateCache).

    `audiences` and `accounts` default to PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT; another
    caller (Dialogflow's service agent) passes its own, and the `names` of their settings
    for the messages.

    Raises:
        VerificationFailed: missing, malformed, expired or foreign token (401).
        NotConfigured: PUSH_AUDIENCE or PUSH_SERVICE_ACCOUNT is empty.
        BackendUnavailable: Google's certificates could not be fetched (503, retried).
    """
    from google.auth.exceptions import GoogleAuthError, TransportError
    from google.oauth2 import id_token

    if audiences is None:
        audiences = [value.decode() for value in secrets_from_env(AUDIENCE_ENV)]
    if accounts is None:
        accounts = [value.decode() for value in secrets_from_env(ACCOUNT_ENV)]
    allowed = set(accounts)
    if not audiences or not allowed:
        raise NotConfigured(f"{names[0]} and {names[1]} must both be set")
    value = header(SignedRequest(body=b"", headers=headers), "authorization")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise VerificationFailed("malformed authorization header: expected 'Bearer <token>'")
    try:
        claims = id_token.verify_token(
            token.strip(),
            cast("Request", certificates),
            audience=list(audiences),
            certs_url=oidc_certs_url(),
            clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
        )
    except TransportError as exc:
        raise BackendUnavailable("could not fetch Google's certificates", retry_after=5) from exc
    except (GoogleAuthError, ValueError, TypeError, KeyError, IndexError) as exc:
        # google-auth raises ValueError subclasses for bad signatures, expiry and audience,
        # but a hostile token can reach other parsing errors: all are the same 401.
        raise VerificationFailed(f"invalid OIDC token: {type(exc).__name__}") from None
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise VerificationFailed("OIDC token not issued by Google")
    if claims.get("email_verified") is not True or claims.get("email") not in allowed:
        raise VerificationFailed(f"OIDC token is not from an account in {names[1]}")
    return claims
