"""A Slack slash command (`/search`) answered from a small knowledge base.

Slack signs every request: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">`
with the app's signing secret (https://api.slack.com/authentication/verifying-requests-from-slack).
The entry point is `kg_search`; the other functions are its helpers.
"""

import hashlib
import hmac
import os

import functions_framework
from flask import jsonify

KNOWLEDGE = {
    "python": {
        "name": "Python",
        "description": "Programming language",
        "url": "https://python.org",
    },
    "flask": {"name": "Flask", "description": "Web framework"},
}


def verify_signature(request):
    """Raise unless Slack signed this request with our signing secret."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    base = f"v0:{timestamp}:".encode() + request.get_data()
    secret = os.environ.get("SLACK_SECRET", "").encode()
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Slack-Signature", "")):
        raise ValueError("Invalid request/credentials.")


def format_slack_message(query, response):
    """The message Slack shows in the channel for `query` and what was found."""
    message = {"response_type": "in_channel", "text": f"Query: {query}", "attachments": []}
    if response:
        attachment = {"color": "#3367d6", "title": f"{response['name']}: {response['description']}"}
        if response.get("url"):
            attachment["title_link"] = response["url"]
    else:
        attachment = {"text": "No results match your query."}
    message["attachments"].append(attachment)
    return message


def make_search_request(query):
    """Look `query` up and format the answer."""
    return format_slack_message(query, KNOWLEDGE.get(query.strip().lower()))


@functions_framework.http
def kg_search(request):
    if request.method != "POST":
        return "Only POST requests are accepted", 405
    verify_signature(request)
    return jsonify(make_search_request(request.form["text"]))
