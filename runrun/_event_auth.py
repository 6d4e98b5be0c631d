"""Event targets behind a public service answer only Google-signed callers.

A Cloud Run service that serves webhooks is public (providers cannot authenticate to
Google), and so is every path on it: a forged CloudEvent POSTed to an event target
(`cloudevent` or `event` signature) would run its handler. On Cloud Run (K_SERVICE set)
each event target is therefore wrapped: a request must carry `Authorization: Bearer <JWT>`
signed by Google (Pub/Sub push, Eventarc and Cloud Tasks send one), issued by Google, for
an audience in PUSH_AUDIENCE, from a verified account in PUSH_SERVICE_ACCOUNT (both
comma-separated, written into the service by the deploy plan); anything else is 401 with a
message naming the problem (cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
The audience alone is not enough: any Google account can mint a token for any audience.

Off where K_SERVICE is unset (a laptop, functions-framework parity), unless
RUNRUN_EVENT_AUTH=1; RUNRUN_EVENT_AUTH=0 turns it off on a private service, whose invoker
IAM check already does this. HTTP targets are never wrapped: they verify their own callers.
Google's certificates are fetched once per max-age (RUNRUN_OIDC_CERTS_URL overrides where).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._discover import CLOUDEVENT, EVENT, Target

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
CLOCK_SKEW_SECONDS = 10
DEFAULT_MAX_AGE = 300.0


def _list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


@dataclass(frozen=True)
class EventAuthSettings:
    enabled: bool
    audiences: tuple[str, ...]
    accounts: tuple[str, ...]
    certs_url: str

    @classmethod
    def from_env(cls) -> EventAuthSettings:
        switch = os.environ.get("RUNRUN_EVENT_AUTH", "").strip().lower()
        enabled = switch in ("1", "true") or (switch == "" and bool(os.environ.get("K_SERVICE")))
        return cls(
            enabled=enabled,
            audiences=_list("PUSH_AUDIENCE"),
            accounts=_list("PUSH_SERVICE_ACCOUNT"),
            certs_url=os.environ.get("RUNRUN_OIDC_CERTS_URL") or GOOGLE_CERTS_URL,
        )


class CachedCertificates:
    """A google-auth transport keeping certificate GETs for their max-age: without it every
    event would wait on a fetch from Google."""

    def __init__(self) -> None:
        self._inner: Any = None  # built on the first event: nothing imported at start
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Any]] = {}

    def __call__(self, url: str, method: str = "GET", **kwargs: Any) -> Any:
        with self._lock:
            cached = self._cache.get(url) if method == "GET" else None
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if self._inner is None:
            from google.auth.transport.requests import Request

            self._inner = Request()
        response = self._inner(url, method=method, **kwargs)
        if method == "GET" and response.status == 200:
            found = re.search(r"max-age=(\d+)", response.headers.get("cache-control", ""))
            age = min(float(found.group(1)), 86400.0) if found else DEFAULT_MAX_AGE
            with self._lock:
                self._cache[url] = (time.monotonic() + age, response)
        return response


class EventAuth:
    """The WSGI wrapper of one event target (see the module's docstring)."""

    def __init__(
        self, app: WSGIApplication, target: str, settings: EventAuthSettings, certs: Any
    ) -> None:
        self.app, self.target, self.settings, self.certs = app, target, settings, certs

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        problem = self.problem(environ.get("HTTP_AUTHORIZATION", ""))
        if problem is None:
            return self.app(environ, start_response)
        status, message = problem
        body = f"event target {self.target}: {message}\n".encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
        ]
        if status.startswith("401"):
            headers.append(("WWW-Authenticate", 'Bearer realm="google-oidc"'))
        start_response(status, headers)
        return [body]

    def problem(self, authorization: str) -> tuple[str, str] | None:
        """Why the caller is refused (status, message), or None when it is Google's."""
        from google.auth.exceptions import GoogleAuthError, TransportError
        from google.oauth2 import id_token

        s = self.settings
        if not s.audiences or not s.accounts:
            return ("500 Internal Server Error", "PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT must "
                    "both be set (or RUNRUN_EVENT_AUTH=0 on a private service)")  # fmt: skip
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return ("401 Unauthorized", "missing or malformed Authorization header: "
                    "expected 'Bearer <Google-signed OIDC token>'")  # fmt: skip
        try:
            claims = id_token.verify_token(
                token.strip(),
                self.certs,
                audience=list(s.audiences),
                certs_url=s.certs_url,
                clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
            )
        except TransportError:
            return ("503 Service Unavailable", "could not fetch Google's certificates")
        except (GoogleAuthError, ValueError, TypeError, KeyError, IndexError) as exc:
            # Bad signature, expiry, audience, or a hostile token's parsing error: all 401.
            return ("401 Unauthorized", f"invalid OIDC token ({type(exc).__name__})")
        if claims.get("iss") not in GOOGLE_ISSUERS:
            return ("401 Unauthorized", "OIDC token not issued by Google")
        if claims.get("email_verified") is not True or claims.get("email") not in s.accounts:
            return ("401 Unauthorized", "OIDC token is not from an account in PUSH_SERVICE_ACCOUNT")
        return None


def protect_event_targets(targets: Iterable[Target], apps: dict[str, Any]) -> dict[str, Any]:
    """`apps` with each event target's app wrapped, when the check is on."""
    settings = EventAuthSettings.from_env()
    if not settings.enabled:
        return apps
    certs = CachedCertificates()
    events = {t.name for t in targets if t.signature_type in (CLOUDEVENT, EVENT)}
    return {
        name: EventAuth(app, name, settings, certs) if name in events else app
        for name, app in apps.items()
    }
