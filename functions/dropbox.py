"""`dropbox_webhook`: Dropbox file-change notifications.

https://www.dropbox.com/developers/reference/webhooks
"""

import uuid

import flask
import functions_framework

from shared import Provider, query_echo, receive
from shared.providers import verify_dropbox

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
)


@functions_framework.http
def dropbox_webhook(request: flask.Request) -> flask.Response:
    return receive(request, DROPBOX)
