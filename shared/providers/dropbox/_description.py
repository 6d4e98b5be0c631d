"""`dropbox_webhook`: Dropbox file-change notifications.

https://www.dropbox.com/developers/reference/webhooks
"""

from __future__ import annotations

import uuid

from shared.providers._handshake import query_echo
from shared.providers._provider import Provider
from shared.providers.dropbox._sample import SAMPLES
from shared.providers.dropbox._verify import verify_dropbox

DROPBOX = Provider(
    target="dropbox_webhook",
    secret_env="DROPBOX_APP_SECRET",
    verify=verify_dropbox,
    # A notification only says "these accounts changed: fetch their cursors". It has no id,
    # and the same body comes again for every later change to the same accounts, so keying by
    # content would drop real changes. Every request is its own delivery; handling one twice
    # is harmless, since fetching from a cursor is idempotent.
    delivery_id=lambda inbound: f"request:{uuid.uuid4().hex}",
    delivery_id_source="a fresh id per request",
    event_type=lambda inbound: "list_folder",
    handshake=query_echo("GET", "challenge"),
    methods=("GET", "POST"),
    samples=SAMPLES,
)
