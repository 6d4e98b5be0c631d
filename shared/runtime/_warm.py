"""Warm starts under plain functions-framework, which has no start-up hook.

runrun builds, starts and warms each worker's runtime before it serves (the bundle's hooks,
`shared.serving`). Under `functions-framework --target X` (and on Cloud Functions) nothing
runs between the import of the source and the first request, and importing the functions
must start nothing: the source is imported in gunicorn's pre-fork master, and gRPC must not
be initialised before a fork (the child's channels would depend on threads that did not
survive it). So the runtime is built by the first request of each worker process
(`current_runtime()`), and that first build also warms it in a background thread, beside
the first requests: the deliveries after it do not each pay for opening the channels.

Once per process: a runtime rebuilt later in the same process (tests) is not warmed again.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.runtime._runtime import Runtime

log = logging.getLogger("runrun.runtime")

_warmed_in = 0  # the pid of the process whose first runtime was warmed
_lock = threading.Lock()


def warm_first_runtime(runtime: Runtime) -> None:
    """Warm `runtime` in the background if it is this process's first; never raises."""
    global _warmed_in
    with _lock:
        if _warmed_in == os.getpid():
            return
        _warmed_in = os.getpid()
    threading.Thread(target=_warm, args=(runtime,), name="runrun-warm-start", daemon=True).start()


def _warm(runtime: Runtime) -> None:
    try:
        runtime.warm()
    except Exception:  # a warm start is an optimisation: it never costs the process
        log.exception("warm start failed")
