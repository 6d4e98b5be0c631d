"""`twilio_webhook`: Twilio messaging and voice webhooks and status callbacks.

Signed over the PUBLIC URL: behind Cloud Run the pipeline rebuilds it from
X-Forwarded-Proto and the Host the caller used. Configure Twilio with exactly that URL.
Signed with the account auth token, or, where a Webhook Rule applies, with a SharedKey
secret (header X-Twilio-Webhooks-Signature-Settings); either variable alone is enough.
https://www.twilio.com/docs/usage/webhooks
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.providers._core import SignedRequest
from shared.providers._provider import Inbound, Provider, text_of
from shared.providers.twilio._sample import SAMPLES
from shared.providers.twilio._verify import verify_twilio

AUTH_TOKEN_ENV = "TWILIO_AUTH_TOKEN"
SHARED_KEY_ENV = "TWILIO_SHARED_KEY_SECRET"

# Most specific resource first: a recording callback also carries its CallSid.
_RESOURCES = (
    ("RecordingSid", "RecordingStatus"),
    ("TranscriptionSid", "TranscriptionStatus"),
    ("MessageSid", "MessageStatus"),
    ("SmsSid", "SmsStatus"),
    ("CallSid", "CallStatus"),
)


def _delivery_id(inbound: Inbound) -> str | None:
    # Twilio's per-webhook token, kept across its retries (not in our provider notes, so
    # used when present only); else the resource SID with its status, since one call or
    # message posts once per status change.
    token = inbound.headers.get("i-twilio-idempotency-token", "").strip()
    if token:
        return f"token:{token}"
    for sid_field, status_field in _RESOURCES:
        sid = text_of(inbound.field(sid_field))
        if sid:
            status = text_of(inbound.field(status_field))
            return f"{sid}:{status}" if status else sid
    return text_of(inbound.field("sid")) or text_of(inbound.field("id"))


def _twiml(keys: Sequence[str]) -> tuple[int, str, str]:
    # Twilio reads the answer as TwiML: an empty <Response/> (nothing more to do).
    return 200, '<?xml version="1.0" encoding="UTF-8"?><Response></Response>', "text/xml"


def _verify(request: SignedRequest, secrets: Sequence[bytes], tolerance: int) -> None:
    # The flat list joins both variables; each of Twilio's two schemes must be checked against
    # its own secret only, so they are taken apart by variable.
    verify_twilio(
        request,
        list(request.secrets_by_env.get(AUTH_TOKEN_ENV, ())),
        tolerance,
        shared_keys=list(request.secrets_by_env.get(SHARED_KEY_ENV, ())),
        shared_key_env=SHARED_KEY_ENV,
        auth_token_env=AUTH_TOKEN_ENV,
    )


TWILIO = Provider(
    target="twilio_webhook",
    secret_env=AUTH_TOKEN_ENV,
    key_envs=(SHARED_KEY_ENV,),
    verify=_verify,
    delivery_id=_delivery_id,
    delivery_id_source="I-Twilio-Idempotency-Token or the resource SID (MessageSid, CallSid...)",
    event_type=lambda i: next((f for f, _ in _RESOURCES if text_of(i.field(f))), "event"),
    body_formats=("form", "json"),
    answer=_twiml,
    answer_window_seconds=15,  # Twilio: about 15 s
    samples=SAMPLES,
)
