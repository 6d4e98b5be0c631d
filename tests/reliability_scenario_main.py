"""Every target of the project's main.py, with one difference: a delivery whose id starts
with `hold-` stops between its claim and its publish (it writes the file named by
SCENARIO_HOLD_MARK, then waits), so that a test can SIGKILL the server exactly there.

A scenario module for the reliability tests only: nothing in the project imports it.
"""

import os
import time
from pathlib import Path

from main import *  # noqa: F403 - the same targets, re-exported
from main import __all__ as _targets
from shared.handoff import _pubsub

__all__ = list(_targets)

_publish = _pubsub.PubSubPublisher.publish


def _held_publish(
    self: _pubsub.PubSubPublisher, topic: str, data: bytes, attributes: dict[str, str]
) -> str:
    if attributes.get("delivery_id", "").startswith("hold-"):
        Path(os.environ["SCENARIO_HOLD_MARK"]).write_text(attributes["delivery_id"])
        time.sleep(60)  # the test kills the process long before this ends
    return _publish(self, topic, data, attributes)


_pubsub.PubSubPublisher.publish = _held_publish  # type: ignore[method-assign]
