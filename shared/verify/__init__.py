"""Request verification: one core (`_core`) and a thin adapter per provider."""

from ._core import SignedRequest as SignedRequest
from ._core import hmac_matches as hmac_matches
from ._dialogflow import DialogflowAuth as DialogflowAuth
from ._dialogflow import verify_dialogflow as verify_dialogflow
from ._dropbox import verify_dropbox as verify_dropbox
from ._github import verify_github as verify_github
from ._graph import verify_graph as verify_graph
from ._meta import verify_meta as verify_meta
from ._oidc import CertificateCache as CertificateCache
from ._oidc import push_auth_enabled as push_auth_enabled
from ._oidc import verify_google_oidc as verify_google_oidc
from ._secret import verify_shared_secret as verify_shared_secret
from ._shopify import verify_shopify as verify_shopify
from ._slack import verify_slack as verify_slack
from ._standard import message_id as standard_message_id
from ._standard import verify_standard as verify_standard
from ._stripe import verify_stripe as verify_stripe
from ._twilio import verify_twilio as verify_twilio
from ._x import verify_x as verify_x
from ._zoom import verify_zoom as verify_zoom

__all__ = [
    "CertificateCache",
    "DialogflowAuth",
    "SignedRequest",
    "hmac_matches",
    "push_auth_enabled",
    "standard_message_id",
    "verify_dialogflow",
    "verify_dropbox",
    "verify_github",
    "verify_google_oidc",
    "verify_graph",
    "verify_meta",
    "verify_shared_secret",
    "verify_shopify",
    "verify_slack",
    "verify_standard",
    "verify_stripe",
    "verify_twilio",
    "verify_x",
    "verify_zoom",
]
