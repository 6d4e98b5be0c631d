"""How Twilio signs and posts a request, for `runrun send`.

https://www.twilio.com/docs/usage/security#validating-requests
"""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from shared.providers._samples import Draft, Outgoing, Samples, hmac_digest, uuid_of

FORM = "application/x-www-form-urlencoded"


def sign_twilio(auth_token: bytes, url: str, params: Iterable[tuple[str, str]]) -> str:
    """`X-Twilio-Signature`: base64 HMAC-SHA1 of the URL followed by every POST field,
    sorted by name, each as name + value."""
    message = url + "".join(name + value for name, value in sorted(params))
    return base64.b64encode(hmac_digest(auth_token, message.encode(), "sha1")).decode()


def twilio_body_url(url: str, body: bytes) -> str:
    """A JSON body is not a form: Twilio signs the URL with `bodySHA256=<hex>` added."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}bodySHA256={hashlib.sha256(body).hexdigest()}"


def _build(draft: Draft) -> Outgoing:
    # Samples (and --body files) holding a JSON object are sent as the form Twilio posts.
    text = draft.body.decode("utf-8")
    if text.lstrip().startswith("{"):
        fields = [(str(k), str(v)) for k, v in json.loads(text).items()]
    else:
        fields = urllib.parse.parse_qsl(text.strip(), keep_blank_values=True)
    body = urllib.parse.urlencode(fields).encode()
    headers = {
        "Content-Type": FORM,
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": uuid_of(draft),
        "X-Twilio-Signature": sign_twilio(draft.secret.encode(), draft.url, fields),
    }
    return Outgoing("POST", draft.url, headers, body, hidden=frozenset({"X-Twilio-Signature"}))


SAMPLES = Samples(Path(__file__).with_name("samples"), ("message", "call_status"), _build)
