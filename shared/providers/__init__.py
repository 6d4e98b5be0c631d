"""The providers: how each one's requests are described, verified and answered.

`Provider` describes one sender (its secret, its verifier, its delivery id, its handshake);
a package per provider holds its verifier over the one core (`_core`), and the handshakes
some of them need live in `_handshake`."""

from shared.providers._core import SignedRequest as SignedRequest
from shared.providers._core import hmac_matches as hmac_matches
from shared.providers._core import verify_body_hmac as verify_body_hmac
from shared.providers._handshake import echo_challenge as echo_challenge
from shared.providers._handshake import meta_subscribe as meta_subscribe
from shared.providers._handshake import query_echo as query_echo
from shared.providers._handshake import slack_url_verification as slack_url_verification
from shared.providers._handshake import text as text_answer
from shared.providers._handshake import x_crc as x_crc
from shared.providers._handshake import zoom_url_validation as zoom_url_validation
from shared.providers._oidc import CertificateCache as CertificateCache
from shared.providers._oidc import push_auth_enabled as push_auth_enabled
from shared.providers._oidc import verify_google_oidc as verify_google_oidc
from shared.providers._provider import Handshake as Handshake
from shared.providers._provider import Inbound as Inbound
from shared.providers._provider import Provider as Provider
from shared.providers._provider import text_of as text_of
from shared.providers._secret import verify_shared_secret as verify_shared_secret
from shared.providers.dialogflow._verify import DialogflowAuth as DialogflowAuth
from shared.providers.dialogflow._verify import verify_dialogflow as verify_dialogflow
from shared.providers.dropbox import DROPBOX as DROPBOX
from shared.providers.dropbox._verify import verify_dropbox as verify_dropbox
from shared.providers.generic import GENERIC as GENERIC
from shared.providers.github import GITHUB as GITHUB
from shared.providers.github._verify import verify_github as verify_github
from shared.providers.graph import GRAPH as GRAPH
from shared.providers.graph._verify import verify_graph as verify_graph
from shared.providers.meta import META as META
from shared.providers.meta._verify import verify_meta as verify_meta
from shared.providers.shopify import SHOPIFY as SHOPIFY
from shared.providers.shopify._verify import verify_shopify as verify_shopify
from shared.providers.slack import SLACK as SLACK
from shared.providers.slack._verify import verify_slack as verify_slack
from shared.providers.standard import STANDARD as STANDARD
from shared.providers.standard._verify import message_id as standard_message_id
from shared.providers.standard._verify import verify_standard as verify_standard
from shared.providers.stripe import STRIPE as STRIPE
from shared.providers.stripe._verify import verify_stripe as verify_stripe
from shared.providers.twilio import TWILIO as TWILIO
from shared.providers.twilio._verify import verify_twilio as verify_twilio
from shared.providers.x import X as X
from shared.providers.x._verify import verify_x as verify_x
from shared.providers.zoom import ZOOM as ZOOM
from shared.providers.zoom._verify import verify_zoom as verify_zoom

__all__ = [
    "CertificateCache",
    "DROPBOX",
    "DialogflowAuth",
    "GENERIC",
    "GITHUB",
    "GRAPH",
    "Handshake",
    "Inbound",
    "META",
    "Provider",
    "SHOPIFY",
    "SLACK",
    "STANDARD",
    "STRIPE",
    "SignedRequest",
    "TWILIO",
    "X",
    "ZOOM",
    "echo_challenge",
    "hmac_matches",
    "meta_subscribe",
    "push_auth_enabled",
    "query_echo",
    "slack_url_verification",
    "standard_message_id",
    "text_answer",
    "text_of",
    "verify_body_hmac",
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
    "x_crc",
    "zoom_url_validation",
]
