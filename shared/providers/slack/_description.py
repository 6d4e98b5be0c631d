"""`slack_events`: the Slack Events API (signed with the app's signing secret).

https://api.slack.com/apis/events-api
"""

from __future__ import annotations

from shared.providers._handshake import slack_url_verification
from shared.providers._provider import Provider, text_of
from shared.providers.slack._sample import SAMPLES
from shared.providers.slack._verify import verify_slack

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
    samples=SAMPLES,
)
