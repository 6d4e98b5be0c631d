"""Who may call the GitHub stand-in, as GitHub's documentation says.

docs.github.com, "Authenticating as a GitHub App" / "Generating a JSON Web Token (JWT) for a
GitHub App": the JWT is RS256, `iat` in the past, `exp` no more than 10 minutes into the
future, `iss` the app's id (or client id), and reaches only the `/app...` endpoints and the
installation lookups; "Generating an installation access token for a GitHub App":
`POST /app/installations/{installation_id}/access_tokens` answers 201 with a token valid
for one hour, which then reaches that installation's repositories and organisations. A
personal access token reaches what its owner may. Anything else is 401 "Bad credentials".
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt

_JWT_MAX_AHEAD = 600
Refusal = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Caller:
    kind: str  # "token" | "installation" | "app"
    installation: int | None = None


def _refuse(status: int, message: str) -> Refusal:
    return status, {"message": message, "documentation_url": "https://docs.github.com/rest"}


@dataclass
class StandInAuth:
    token: str = "github_pat_standin"
    app_id: str = "424242"
    public_pem: bytes = b""
    # installation id -> the repository/organisation paths it covers ("/repos/o/r", "/orgs/o")
    installations: dict[int, tuple[str, ...]] = field(default_factory=dict)
    issued: dict[str, tuple[int, float]] = field(default_factory=dict)  # token -> (id, until)
    jwts_seen: int = 0

    def caller(self, authorization: str, now: float) -> Caller | Refusal:
        scheme, _, credential = authorization.partition(" ")
        if not credential:
            return _refuse(401, "Requires authentication")
        if scheme.lower() == "token" or scheme.lower() == "bearer":
            if credential == self.token:
                return Caller("token")
            if credential in self.issued:
                installation, until = self.issued[credential]
                if now >= until:
                    return _refuse(401, "Bad credentials")
                return Caller("installation", installation)
        if scheme.lower() == "bearer" and credential.count(".") == 2 and self.public_pem:
            return self._app(credential, now)
        return _refuse(401, "Bad credentials")

    def _app(self, token: str, now: float) -> Caller | Refusal:
        try:
            claims = jwt.decode(
                token,
                self.public_pem,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp"]},
            )
        except jwt.InvalidTokenError:
            return _refuse(401, "A JSON web token could not be decoded")
        if str(claims.get("iss")) != self.app_id:
            return _refuse(401, "'Issuer' claim ('iss') must be the app's id")
        if claims["iat"] > now:
            return _refuse(401, "'Issued at' claim ('iat') must be a time in the past")
        if claims["exp"] <= now or claims["exp"] > now + _JWT_MAX_AHEAD:
            return _refuse(401, "'Expiration time' claim ('exp') is expired or too far ahead")
        self.jwts_seen += 1
        return Caller("app")

    def may_read_hook(self, caller: Caller, hook: str) -> Refusal | None:
        if hook == "/app/hook":
            if caller.kind != "app":
                return _refuse(401, "A JSON web token could not be decoded")
            return None
        if caller.kind == "app":
            return _refuse(401, "A JWT reaches only the app's own endpoints")
        if caller.kind == "installation":
            covered = self.installations.get(caller.installation or 0, ())
            if not any(hook.startswith(prefix + "/") for prefix in covered):
                return _refuse(403, "Resource not accessible by integration")
        return None

    def app_route(self, method: str, path: str, caller: Caller, now: float) -> Refusal | None:
        """The installation lookups and the token exchange; None for another path."""
        lookup = re.fullmatch(r"(/repos/[^/]+/[^/]+|/orgs/[^/]+)/installation", path)
        exchange = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if not ((lookup and method == "GET") or (exchange and method == "POST")):
            return None
        if caller.kind != "app":
            return _refuse(401, "A JSON web token could not be decoded")
        if lookup:
            for installation, covered in self.installations.items():
                if lookup.group(1) in covered:
                    return 200, {"id": installation, "app_id": int(self.app_id)}
            return _refuse(404, "Not Found")
        assert exchange is not None
        installation = int(exchange.group(1))
        if installation not in self.installations:
            return _refuse(404, "Not Found")
        token = f"ghs_{secrets.token_hex(16)}"
        self.issued[token] = (installation, now + 3600)
        expires = datetime.fromtimestamp(now + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 201, {"token": token, "expires_at": expires, "repository_selection": "all"}
