"""The webhook targets and the processor, as plain functions-framework functions.

`runrun_hooks` is what main.py hands `runrun serve` (see `runrun.hooks`): building it starts
nothing, and importing this package configures nothing. runrun calls the hooks to start the
bundle (logging, settings, runtime) before serving; under plain functions-framework nothing
calls them, and each worker's first request starts it instead (shared/runtime/_current.py).
"""

from shared.serving import ServingHooks

runrun_hooks = ServingHooks(package=__name__)
