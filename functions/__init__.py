"""The webhook targets and the processor, as plain functions-framework functions."""

from shared import configure_logging

configure_logging()
