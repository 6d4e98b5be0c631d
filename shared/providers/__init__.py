"""The providers: how each one's requests are described, verified, answered and sampled.

`Provider` describes one sender (its secret, its verifier, its delivery id, its handshake,
its samples); a package per provider holds its description, its verifier over the one core
(`_core`) and its samples over the one kit (`_samples`); the handshakes some of them need
live in `_handshake`. A target carries its provider's description (`_target`)."""

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
from shared.providers._samples import Answer as Answer
from shared.providers._samples import Draft as Draft
from shared.providers._samples import Outgoing as Outgoing
from shared.providers._samples import Samples as Samples
from shared.providers._samples import echoed as echoed
from shared.providers._samples import hmac_digest as hmac_digest
from shared.providers._samples import json_post as json_post
from shared.providers._secret import verify_shared_secret as verify_shared_secret
from shared.providers._target import description_of as description_of
from shared.providers._target import mark as mark_target
from shared.providers._target import provider_named as provider_named
from shared.providers.dialogflow import DIALOGFLOW as DIALOGFLOW
from shared.providers.dialogflow import DialogflowAuth as DialogflowAuth
from shared.providers.dialogflow import Fulfilment as Fulfilment
from shared.providers.dialogflow import verify_dialogflow as verify_dialogflow
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
    "Answer",
    "CertificateCache",
    "DIALOGFLOW",
    "DROPBOX",
    "DialogflowAuth",
    "Draft",
    "Fulfilment",
    "GENERIC",
    "GITHUB",
    "GRAPH",
    "Handshake",
    "Inbound",
    "META",
    "Outgoing",
    "Provider",
    "SHOPIFY",
    "SLACK",
    "STANDARD",
    "STRIPE",
    "Samples",
    "SignedRequest",
    "TWILIO",
    "X",
    "ZOOM",
    "description_of",
    "echo_challenge",
    "echoed",
    "hmac_digest",
    "hmac_matches",
    "json_post",
    "mark_target",
    "meta_subscribe",
    "provider_named",
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
