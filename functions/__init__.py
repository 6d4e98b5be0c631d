"""The webhook targets and the processor, as plain functions-framework functions.

`runrun_hooks` is what main.py hands `runrun serve` (see `runrun.hooks`): building it starts
nothing. Under plain functions-framework nothing calls it, and each worker's runtime starts
on its first request instead (shared/runtime/_warm.py).
"""

from shared import configure_logging
from shared.serving import ServingHooks

configure_logging()
runrun_hooks = ServingHooks(package=__name__)
