"""The webhook targets and the processor, as plain functions-framework functions."""

from shared import announce_backends, configure_logging

configure_logging()
announce_backends()
