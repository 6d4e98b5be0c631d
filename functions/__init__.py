"""The webhook targets and the processor, as plain functions-framework functions."""

from shared import announce_backends, configure_logging, warm_start_in_background

configure_logging()
announce_backends()
# functions-framework has no start-up hook: warm the store's and the queue's clients in the
# background of the process that serves (after gunicorn's fork; see shared/_warm.py), so
# the first deliveries do not each pay for opening the channels. runrun warms its own
# workers before they serve, and turns this off.
warm_start_in_background()
