"""The Cloud Tasks side of the emulator benchmark: PyPI's Cloud Tasks emulator (see
tests/support/tasks_emulator) with the queue created PAUSED, so that only the hand-off is measured,
as with Pub/Sub, where nothing consumes the topic during the run."""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from ._servers import ROOT


def tasks_env() -> tuple[Any, dict[str, str]] | None:
    """The emulator and the settings of a runrun server handing off to it, or None."""
    sys.path.insert(0, str(ROOT))
    from google.cloud import tasks_v2

    from shared.backends._clients import make_tasks_client
    from tests.support.tasks_emulator import TasksEmulator

    emulator = TasksEmulator(Path(tempfile.mkdtemp()))
    try:
        emulator.start()
    except (RuntimeError, OSError) as exc:
        print(f"Cloud Tasks emulator unavailable, skipping that part: {exc}", file=sys.stderr)
        emulator.stop()
        return None
    parent = "projects/runrun-bench/locations/local"
    queue = f"{parent}/queues/bench-{uuid.uuid4().hex[:8]}"
    client = make_tasks_client(emulator.host)
    client.create_queue(parent=parent, queue=tasks_v2.Queue(name=queue))
    client.pause_queue(name=queue)
    return emulator, {
        "RUNRUN_QUEUE": "tasks",
        "RUNRUN_TASKS_QUEUE": queue,
        "RUNRUN_TASKS_URL": "http://127.0.0.1:9/process_delivery",  # never dispatched
        "CLOUD_TASKS_EMULATOR_HOST": emulator.host,
    }
