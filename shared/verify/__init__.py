"""Request verification: one core (`_core`) and a thin adapter per provider."""

from ._core import SignedRequest as SignedRequest
from ._core import hmac_matches as hmac_matches
from ._github import verify_github as verify_github
from ._oidc import push_auth_enabled as push_auth_enabled
from ._oidc import verify_google_oidc as verify_google_oidc
from ._secret import verify_shared_secret as verify_shared_secret
from ._slack import verify_slack as verify_slack
from ._stripe import verify_stripe as verify_stripe

__all__ = [
    "SignedRequest",
    "hmac_matches",
    "push_auth_enabled",
    "verify_github",
    "verify_google_oidc",
    "verify_shared_secret",
    "verify_slack",
    "verify_stripe",
]
