"""The receive pipeline's authentication: the provider's signature over the raw body (and
Google's token on internal targets), then the body parsed, only once it is known good."""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Any

import flask

from shared._errors import BadRequest, NotConfigured
from shared.providers import Inbound, Provider, SignedRequest, push_auth_enabled
from shared.receiving._admit import Admitted
from shared.settings import ConfigError
from shared.settings._env import positive_int_env

if TYPE_CHECKING:
    from shared.receiving._host import ReceivingRuntime


def authenticate(
    runtime: ReceivingRuntime, request: flask.Request, provider: Provider, admitted: Admitted
) -> Inbound:
    """The verified, parsed request.

    Raises:
        NotConfigured: the provider's secret is not set.
        VerificationFailed: the signature (or Google's token) does not check out.
        BadRequest: the body cannot be parsed.
    """
    named, headers, body = admitted.secrets, admitted.headers, admitted.body
    secrets = [value for env in (provider.secret_env, *provider.key_envs) for value in named[env]]
    if not secrets:
        raise NotConfigured(f"{' or '.join((provider.secret_env, *provider.key_envs))} is not set")
    if provider.internal and push_auth_enabled():
        runtime.verify_push(headers)
    form: list[tuple[str, str]] = []
    payload: dict[str, Any] | None = None
    if admitted.body_format == "form":
        payload, form = parse(body, "form")  # the form fields are part of what is signed
    signed = SignedRequest(
        body=body, headers=headers, url=public_url(request), form=form, secrets_by_env=named
    )
    provider.verify(
        signed, secrets, _tolerance(provider, runtime.settings.receive.timestamp_tolerance_seconds)
    )
    if payload is None:  # JSON is parsed only once the signature is known to be good
        payload, _ = parse(body, admitted.body_format)
    return Inbound(headers=headers, body=body, payload=payload, query=request.args, secrets=named)


def public_url(request: flask.Request) -> str:
    """The URL the sender called, as it signed it (Twilio).

    Behind Cloud Run's front end (or any proxy) the app sees http and an internal address:
    the scheme comes from X-Forwarded-Proto and the host from X-Forwarded-Host or Host. The
    path and query are the raw bytes of the request line (RAW_URI / REQUEST_URI), because
    re-quoting the decoded path would change what was signed (`%2F` becomes `/`).
    """
    forwarded_proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    scheme = forwarded_proto if forwarded_proto in ("http", "https") else request.scheme
    forwarded_host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
    host = forwarded_host or request.host
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not isinstance(raw, str) or not raw.startswith("/"):
        raw = request.full_path if request.query_string else request.path
        raw = request.root_path + raw
    return f"{scheme}://{host}{raw}"


def _tolerance(provider: Provider, default: int) -> int:
    if not provider.tolerance_env:
        return default
    try:
        override = positive_int_env(provider.tolerance_env)
    except ConfigError as exc:
        raise NotConfigured(str(exc)) from None
    return default if override is None else override


def parse(body: bytes, body_format: str) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The payload object, and the form fields in order when the body is a form."""
    if body_format == "form":
        try:
            pairs = urllib.parse.parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, errors="strict"
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(f"body is not a valid form: {type(exc).__name__}") from None
        fields: dict[str, Any] = {}
        for name, value in pairs:
            fields.setdefault(name, value)  # a repeated field keeps its first value
        return fields, pairs
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"body is not valid JSON: {type(exc).__name__}") from None
    if not isinstance(payload, dict):
        raise BadRequest("JSON body must be an object")
    return payload, []
