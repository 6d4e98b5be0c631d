"""How a Dialogflow CX agent calls its fulfilment webhook, for `runrun send`: the
static-header auth under the target's default header name.

https://cloud.google.com/dialogflow/cx/docs/concept/webhook
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from shared.providers._samples import Answer, Draft, Outgoing, Samples, json_post, succeeded


def _fulfilled(answer: Answer) -> str | None:
    """The agent shows the end user an error unless the answer is a 2xx WebhookResponse."""
    problem = succeeded(answer)
    if problem is not None:
        return problem
    try:
        messages = json.loads(answer.body)["fulfillmentResponse"]["messages"]
    except (ValueError, KeyError, TypeError):
        return "the answer is not a WebhookResponse with fulfillmentResponse.messages"
    return None if isinstance(messages, list) else "fulfillmentResponse.messages is no list"


def _build(draft: Draft) -> Outgoing:
    headers = {"User-Agent": "Google-Dialogflow", "X-Dialogflow-Secret": draft.secret}
    return replace(json_post(draft, headers, ("X-Dialogflow-Secret",)), check=_fulfilled)


SAMPLES = Samples(Path(__file__).with_name("samples"), ("order-status", "open-ticket"), _build)
