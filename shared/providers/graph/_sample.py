"""How Microsoft Graph sends a change notification (its clientState inside the body is the
secret), and its validation request, for `runrun send`.

https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
"""

from __future__ import annotations

from pathlib import Path

from shared.providers._samples import Draft, Outgoing, Samples, echoed, json_post, with_query


def _build(draft: Draft) -> Outgoing:
    if draft.event == "validation":
        token = f"Validation: Testing client application reachability {draft.delivery_id}"
        url = with_query(draft.url, validationToken=token)
        return Outgoing("POST", url, {"Content-Type": "text/plain"}, b"", echoed(token))
    return json_post(draft, {})


SAMPLES = Samples(
    Path(__file__).with_name("samples"),
    ("created", "validation"),
    _build,
    bodyless=frozenset({"validation"}),
    keyless=frozenset({"validation"}),
)
