"""Who catch-up is to GitHub: a token, or a GitHub App.

A token (a fine-grained or classic personal access token, or any installation token) is
sent as `Authorization: Bearer` on every call.

A GitHub App signs a JSON Web Token with its private key (docs.github.com, "Generating a
JSON Web Token (JWT) for a GitHub App": RS256, `iat` 60 s in the past against clock drift,
`exp` at most 10 minutes ahead, `iss` the app's id). The JWT alone reaches the `/app`
endpoints (the app's own webhook); a repository's or organisation's hook needs an
installation access token, which the JWT buys ("Generating an installation access token
for a GitHub App": `POST /app/installations/{installation_id}/access_tokens`, 201, valid
one hour). The installation is found from the repository or organisation
(`GET /repos/{owner}/{repo}/installation`, `GET /orgs/{org}/installation`), unless given.
The JWT is signed with google-auth's RSA signer, a dependency runrun already has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from google.auth import crypt, jwt

from ._errors import GitHubError, UsageError
from ._http import GitHubHttp

_JWT_BACKDATE = 60
_JWT_LIFETIME = 540  # under GitHub's 10 minutes, with room for a clock running fast
_TOKEN_MARGIN = 60  # renew an installation token this long before it expires

T = TypeVar("T")


class Auth(Protocol):
    def authorization(self, http: GitHubHttp, installation_path: str | None) -> str:
        """The Authorization header for a call: `installation_path` is where the hook's
        installation is found (repository, organisation), None for the app's own hook."""


@dataclass(frozen=True)
class TokenAuth:
    token: str

    def authorization(self, http: GitHubHttp, installation_path: str | None) -> str:
        if installation_path is None:
            raise UsageError(
                "the app's own webhook (--app) needs the app's credentials "
                "(GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY), not a token"
            )
        return f"Bearer {self.token}"


@dataclass
class AppAuth:
    app_id: str
    private_key: str
    installation_id: int | None = None
    _token: str = field(default="", repr=False)
    _token_until: float = 0.0

    def __post_init__(self) -> None:
        try:
            self._signer = crypt.RSASigner.from_string(self.private_key)  # type: ignore[no-untyped-call]
        except (ValueError, TypeError, IndexError) as exc:
            raise UsageError(
                "GITHUB_APP_PRIVATE_KEY is not an RSA private key in PEM form"
            ) from exc

    def app_jwt(self, now: float) -> str:
        """The app's JWT, valid from a minute ago for nine minutes."""
        claims = {
            "iat": int(now) - _JWT_BACKDATE,
            "exp": int(now) + _JWT_LIFETIME,
            "iss": self.app_id,
        }
        token: bytes = jwt.encode(self._signer, claims)  # type: ignore[no-untyped-call]
        return token.decode()

    def authorization(self, http: GitHubHttp, installation_path: str | None) -> str:
        if installation_path is None:
            return f"Bearer {self.app_jwt(http.clock())}"
        if not self._token or http.clock() >= self._token_until:
            self._token, self._token_until = self._installation_token(http, installation_path)
        return f"Bearer {self._token}"

    def _installation_token(self, http: GitHubHttp, installation_path: str) -> tuple[str, float]:
        app = f"Bearer {self.app_jwt(http.clock())}"
        if self.installation_id is None:
            found = http.call("GET", http.url(installation_path), authorization=app).json()
            self.installation_id = _field(found, "id", int, installation_path)
        path = f"/app/installations/{self.installation_id}/access_tokens"
        granted = http.call("POST", http.url(path), authorization=app, expect=(201,)).json()
        token = _field(granted, "token", str, path)
        expires = _field(granted, "expires_at", str, path)
        try:
            until = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        except ValueError as exc:
            raise GitHubError(f"{path}: expires_at {expires!r} is no timestamp") from exc
        return token, until - _TOKEN_MARGIN


def _field(payload: object, name: str, kind: type[T], where: str) -> T:
    value = payload.get(name) if isinstance(payload, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise GitHubError(f"{where}: GitHub's answer has no {name} ({kind.__name__})")
    return value
