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

from .._config import get_settings, secrets_from_env
from .._errors import NotConfigured, VerificationFailed
from ._core import SignedRequest, decode_base64, header, require_secret
from ._oidc import verify_google_oidc

SECRET_ENV = "DIALOGFLOW_WEBHOOK_SECRET"
BASIC_ENV = "DIALOGFLOW_BASIC_AUTH"
AUDIENCE_ENV = "DIALOGFLOW_AUDIENCE"
AGENT_ENV = "DIALOGFLOW_SERVICE_AGENT"


def _basic_credentials(value: str) -> str:
    try:
        return decode_base64(value, "authorization").decode("utf-8")
    except (UnicodeDecodeError, binascii.Error):
        raise VerificationFailed("malformed authorization header: not basic credentials") from None


def verify_dialogflow(headers: Mapping[str, str]) -> None:
    """Raise VerificationFailed (401) unless `headers` (lower-cased) carry a configured form
    of auth; NotConfigured (500) when no form is configured at all."""
    settings = get_settings()
    shared_secrets: Sequence[bytes] = secrets_from_env(SECRET_ENV)
    basic: Sequence[bytes] = secrets_from_env(BASIC_ENV)
    token = bool(settings.dialogflow_audiences and settings.dialogflow_service_agents)
    if not shared_secrets and not basic and not token:
        raise NotConfigured(
            f"{SECRET_ENV}, {BASIC_ENV} or {AUDIENCE_ENV} with {AGENT_ENV} must be set"
        )
    request = SignedRequest(body=b"", headers=headers)
    name = settings.dialogflow_secret_header
    if shared_secrets and headers.get(name) is not None:
        require_secret(shared_secrets, header(request, name))
        return
    if headers.get("authorization") is not None:
        scheme, _, value = header(request, "authorization").partition(" ")
        if basic and scheme.lower() == "basic":
            require_secret(basic, _basic_credentials(value.strip()))
            return
        if token and scheme.lower() == "bearer":
            verify_google_oidc(
                headers,
                audiences=settings.dialogflow_audiences,
                accounts=settings.dialogflow_service_agents,
                names=(AUDIENCE_ENV, AGENT_ENV),
            )
            return
    wanted = [f"header {name}"] if shared_secrets else []
    wanted += ["Authorization: Basic"] if basic else []
    wanted += ["a Google ID token (Authorization: Bearer)"] if token else []
    raise VerificationFailed(f"missing credentials: send {' or '.join(wanted)}")
