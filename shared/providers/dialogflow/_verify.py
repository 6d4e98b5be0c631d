"""Dialogflow CX webhook auth, in the three forms the agent offers:

- a static header (API-key style): DIALOGFLOW_WEBHOOK_SECRET sent in the header named by
  RUNRUN_DIALOGFLOW_SECRET_HEADER (default `X-Dialogflow-Secret`);
- HTTP basic auth: DIALOGFLOW_BASIC_AUTH holds `user:password` (several during a rotation);
- the Dialogflow service agent's Google ID token: audience DIALOGFLOW_AUDIENCE, signed for
  an account in DIALOGFLOW_SERVICE_AGENT (service-PROJECT_NUMBER@gcp-sa-dialogflow...).

Any one configured form that the request uses and passes is enough; anything else is 401.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared._errors import NotConfigured, VerificationFailed
from shared.providers._core import SignedRequest, decode_base64, header, require_secret
from shared.providers._oidc import verify_google_oidc

SECRET_ENV = "DIALOGFLOW_WEBHOOK_SECRET"
BASIC_ENV = "DIALOGFLOW_BASIC_AUTH"
AUDIENCE_ENV = "DIALOGFLOW_AUDIENCE"
AGENT_ENV = "DIALOGFLOW_SERVICE_AGENT"


@dataclass(frozen=True)
class DialogflowAuth:
    """What a request may authenticate with: the secrets (from the runtime's secrets, so dev
    mode's generated ones count) and the ID token's settings."""

    secrets: Sequence[bytes]  # DIALOGFLOW_WEBHOOK_SECRET
    basic: Sequence[bytes]  # DIALOGFLOW_BASIC_AUTH
    secret_header: str  # lower-case
    audiences: Sequence[str] = ()
    agents: Sequence[str] = ()
    certificates: Any = None  # the runtime's CertificateCache, for the ID token


def _basic_credentials(value: str) -> str:
    try:
        return decode_base64(value, "authorization").decode("utf-8")
    except (UnicodeDecodeError, binascii.Error):
        raise VerificationFailed("malformed authorization header: not basic credentials") from None


def verify_dialogflow(headers: Mapping[str, str], auth: DialogflowAuth) -> None:
    """Raise VerificationFailed (401) unless `headers` (lower-cased) carry a configured form
    of auth; NotConfigured (500) when no form is configured at all."""
    token = bool(auth.audiences and auth.agents)
    if not auth.secrets and not auth.basic and not token:
        raise NotConfigured(
            f"{SECRET_ENV}, {BASIC_ENV} or {AUDIENCE_ENV} with {AGENT_ENV} must be set"
        )
    request = SignedRequest(body=b"", headers=headers)
    name = auth.secret_header
    if auth.secrets and headers.get(name) is not None:
        require_secret(auth.secrets, header(request, name))
        return
    if headers.get("authorization") is not None:
        scheme, _, value = header(request, "authorization").partition(" ")
        if auth.basic and scheme.lower() == "basic":
            require_secret(auth.basic, _basic_credentials(value.strip()))
            return
        if token and scheme.lower() == "bearer":
            verify_google_oidc(
                headers,
                auth.certificates,
                audiences=auth.audiences,
                accounts=auth.agents,
                names=(AUDIENCE_ENV, AGENT_ENV),
            )
            return
    wanted = [f"header {name}"] if auth.secrets else []
    wanted += ["Authorization: Basic"] if auth.basic else []
    wanted += ["a Google ID token (Authorization: Bearer)"] if token else []
    raise VerificationFailed(f"missing credentials: send {' or '.join(wanted)}")
