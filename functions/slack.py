"""`slack_events`: the Slack Events API (signed with the app's signing secret).

https://api.slack.com/apis/events-api
"""

import flask
import functions_framework

from shared import Provider, receive, slack_url_verification, text_of
from shared.providers import verify_slack

SLACK = Provider(
    target="slack_events",
    secret_env="SLACK_SIGNING_SECRET",
    verify=verify_slack,
    # Retries (X-Slack-Retry-Num) carry the same event_id, which is what makes them duplicates.
    delivery_id=lambda inbound: text_of(inbound.field("event_id")),
    delivery_id_source="body event_id",
    event_type=lambda inbound: text_of(inbound.field("event", "type")) or "",
    challenge=slack_url_verification,
    answer_window_seconds=3,  # Slack: 3 s
)


@functions_framework.http
def slack_events(request: flask.Request) -> flask.Response:
    return receive(request, SLACK)
