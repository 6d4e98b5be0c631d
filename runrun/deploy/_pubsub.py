"""Pub/Sub wiring: per event target a dead-letter topic with a subscription people read
(kept 31 days, never expiring, watched by an alert policy); the push subscriptions of run
mode; the dead-letter policy on subscriptions Eventarc made.

- A subscription without an expiration policy is deleted after 31 days without activity:
  every subscription here gets `--expiration-period=never`
  (cloud.google.com/pubsub/docs/subscription-properties#expiration-period).
- Retention is 7 days by default and 31 at most: dead letters keep 31
  (cloud.google.com/pubsub/docs/subscription-properties#retention-duration).
- Dead-lettering needs the Pub/Sub service agent to publish to the dead-letter topic and to
  subscribe to the source subscription (cloud.google.com/pubsub/docs/handling-failures).
"""

from __future__ import annotations

from ._iam import PUBSUB_AGENT, grant, sa
from ._project import topics
from ._settings import PlanSettings
from ._shell import converge, render
from ._triggers import Trigger

DEAD_LETTER_RETENTION = "31d"
ACK_DEADLINE = "60"


def dead_letter_topic(target: str) -> str:
    return f"{target}-dead-letters"


def dead_letter_subscription(target: str) -> str:
    """The pull subscription on a target's dead-letter topic (same name as the topic)."""
    return f"{target}-dead-letters"


def _p(s: PlanSettings) -> str:
    return f"--project={s.project}"


def dead_letters(target: str, s: PlanSettings) -> list[str]:
    """A target's dead-letter topic, Pub/Sub allowed to publish to it, the subscription
    where its dead letters wait, and an alert policy on that subscription's backlog."""
    topic, name = dead_letter_topic(target), dead_letter_subscription(target)
    settings = [
        f"--message-retention-duration={DEAD_LETTER_RETENTION}",
        "--expiration-period=never",
        f"--ack-deadline={ACK_DEADLINE}",
        _p(s),
    ]
    base = ["gcloud", "pubsub", "subscriptions"]
    return [
        f"# Dead letters of {target}: python -m runrun dead-letters list {target}",
        *topics([topic], s),
        grant(["pubsub", "topics"], topic, sa(PUBSUB_AGENT), "roles/pubsub.publisher", s),
        converge(
            [*base, "describe", name, _p(s)],
            [*base, "update", name, *settings],
            [*base, "create", name, f"--topic={topic}", *settings],
        ),
        *alert_policy(name, s),
    ]


def alert_policy(subscription: str, s: PlanSettings) -> list[str]:
    """An alert when a dead-letter subscription holds a message: nobody reads dead letters
    unless told (Cloud Monitoring has no GA gcloud command for policies: alpha)."""
    title = f"runrun:{subscription}"  # no quotes or spaces: it sits inside "$(...)"
    metric = (
        'metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages" '
        'AND resource.type="pubsub_subscription" '
        f'AND resource.label.subscription_id="{subscription}"'
    )
    base = ["gcloud", "alpha", "monitoring", "policies"]
    listed = [*base, "list", _p(s), f"--filter=displayName={title}", "--format=value(name)"]
    create = [
        *base,
        "create",
        f"--display-name={title}",
        f"--condition-display-name={subscription} holds undelivered dead letters",
        f"--condition-filter={metric}",
        "--if=> 0",
        "--duration=60s",
        "--combiner=OR",
        *([f"--notification-channels={','.join(s.alert_channels)}"] if s.alert_channels else []),
        _p(s),
    ]
    return [f'[ -n "$({render(listed)})" ] || {render(create)} >/dev/null']


def push_subscription(trigger: Trigger, s: PlanSettings) -> list[str]:
    """Run mode: a push subscription delivering the topic to `/<target>` with the push
    account's token, backing off 10-600 s, dead-lettered, never expiring."""
    name = f"{s.service}-{trigger.target}-push"
    flags = [
        f"--push-endpoint={s.url}/{trigger.target}",
        f"--push-auth-service-account={s.push_email}",
        f"--push-auth-token-audience={s.push_audience}",
        f"--ack-deadline={ACK_DEADLINE}",
        "--min-retry-delay=10s",
        "--max-retry-delay=600s",
        "--expiration-period=never",
        f"--dead-letter-topic={dead_letter_topic(trigger.target)}",
        f"--max-delivery-attempts={s.max_delivery_attempts}",
        _p(s),
    ]
    base = ["gcloud", "pubsub", "subscriptions"]
    return [
        converge(
            [*base, "describe", name, _p(s)],
            [*base, "update", name, *flags],
            [*base, "create", name, f"--topic={trigger.topic}", *flags],
        ),
        grant(["pubsub", "subscriptions"], name, sa(PUBSUB_AGENT), "roles/pubsub.subscriber", s),
    ]


def dead_letter_policy(subscription: str, trigger: Trigger, s: PlanSettings) -> list[str]:
    """Dead-lettering (and no expiry) on a subscription Eventarc made, and the Pub/Sub
    agent allowed to forward from it."""
    update = [
        "gcloud",
        "pubsub",
        "subscriptions",
        "update",
        subscription,
        f"--dead-letter-topic={dead_letter_topic(trigger.target)}",
        f"--max-delivery-attempts={s.max_delivery_attempts}",
        "--expiration-period=never",
        _p(s),
    ]
    return [
        render(update) + " >/dev/null",
        grant(
            ["pubsub", "subscriptions"],
            subscription,
            sa(PUBSUB_AGENT),
            "roles/pubsub.subscriber",
            s,
        ),
    ]


def eventarc_subscription(describe: list[str], trigger: Trigger, s: PlanSettings) -> list[str]:
    """Eventarc delivers through a Pub/Sub subscription of its own: dead-letter it too."""
    return [
        f"SUBSCRIPTION=$({render(describe)})",
        *dead_letter_policy("${SUBSCRIPTION}", trigger, s),
    ]
