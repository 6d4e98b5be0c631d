"""The processors `process_delivery` runs, registered per (source target, event type).

Add one: a module here with a function decorated by `registry.register(source, event_type)`,
imported below.
"""

from shared import ProcessorRegistry

registry = ProcessorRegistry()

from . import bigquery, notify, relay, store, trigger  # noqa: E402,F401 - importing registers them
