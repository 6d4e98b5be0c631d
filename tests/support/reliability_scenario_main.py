"""Every target of the project's main.py, with one difference: a delivery whose id starts
with `hold-` stops between its claim and its publish (it writes the file named by
SCENARIO_HOLD_MARK, then waits), so that a test can SIGKILL the server exactly there.

A scenario module for the reliability tests only: nothing in the project imports it.
"""

import os
import time
from pathlib import Path
from typing import Any

from main import *  # noqa: F403 - the same targets, re-exported
from main import __all__ as _targets
from shared.backends.handoff import _pubsub

__all__ = list(_targets)

_publish_batch = _pubsub.PubSubPublisher._publish_batch


def _held_publish_batch(
    self: _pubsub.PubSubPublisher, path: str, messages: list[Any], timeout: float
) -> list[str | BaseException]:
    # Every publish, made alone or chained after its claim, goes out through this call.
    for message in messages:
        delivery_id = message.attributes.get("delivery_id", "")
        if delivery_id.startswith("hold-"):
            Path(os.environ["SCENARIO_HOLD_MARK"]).write_text(delivery_id)
            time.sleep(60)  # the test kills the process long before this ends
    return _publish_batch(self, path, messages, timeout)


_pubsub.PubSubPublisher._publish_batch = _held_publish_batch  # type: ignore[method-assign]
