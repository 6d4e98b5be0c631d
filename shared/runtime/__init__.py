"""The composition root: builds every backend from the settings, and starts, warms and
stops them; the only place below runrun that reads the settings."""

from shared.runtime._current import announce_backends as announce_backends
from shared.runtime._current import current_runtime as current_runtime
from shared.runtime._current import install_runtime as install_runtime
from shared.runtime._current import stop_runtime as stop_runtime
from shared.runtime._current import using_runtime as using_runtime
from shared.runtime._entry import fulfil as fulfil
from shared.runtime._entry import fulfilment_target as fulfilment_target
from shared.runtime._entry import process_push as process_push
from shared.runtime._entry import receive as receive
from shared.runtime._entry import webhook_target as webhook_target
from shared.runtime._registry import check_scheduling as check_scheduling
from shared.runtime._runtime import Runtime as Runtime

__all__ = [
    "Runtime",
    "announce_backends",
    "check_scheduling",
    "current_runtime",
    "fulfil",
    "fulfilment_target",
    "install_runtime",
    "process_push",
    "receive",
    "stop_runtime",
    "using_runtime",
    "webhook_target",
]
