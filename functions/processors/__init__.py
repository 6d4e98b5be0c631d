"""The processors `process_delivery` runs (RUNRUN_PROCESSORS names this `registry`): the
ones the bundle ships, from one explicit list (shared/processors/)."""

from shared.processors import shipped_registry

registry = shipped_registry()
