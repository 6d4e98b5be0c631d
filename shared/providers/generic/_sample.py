"""How `runrun send` sends a generic delivery: the shared secret as a bearer token."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from shared.providers._samples import Draft, Outgoing, Samples, echoed, json_post


def _build(draft: Draft) -> Outgoing:
    out = json_post(draft, {"Authorization": f"Bearer {draft.secret}"}, ("Authorization",))
    if draft.event == "challenge":
        challenge = json.loads(draft.body).get("challenge", "")
        return replace(out, check=echoed(str(challenge)))
    return out


SAMPLES = Samples(Path(__file__).with_name("samples"), ("order.created", "challenge"), _build)
