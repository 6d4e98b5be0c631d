"""Every target of the project's main.py, with processors of the metrics tests' own
(RUNRUN_PROCESSORS=tests.support.metrics_scenario_main:registry): `record` runs on every
delivery, `broken` fails on every GitHub `issues` delivery; and one more HTTP target,
`loaded_metrics_modules`, answering which metrics libraries the worker that answers has
imported (the off mode imports none).

A scenario module for the metrics tests only: nothing in the project imports it.
"""

import json
import sys
from typing import Any

import flask
import functions_framework

from main import *  # noqa: F403 - the same targets, re-exported
from main import __all__ as _targets
from main import runrun_hooks as runrun_hooks  # the bundle's hooks: the metrics start there
from shared import Delivery, ProcessorRegistry

__all__ = [*_targets, "loaded_metrics_modules"]

registry = ProcessorRegistry()
BROKEN_EVENT = "issues"


@registry.register(name="record")
def record(delivery: Delivery, context: Any) -> None:
    return None


@registry.register(source="github_webhook", event_type=BROKEN_EVENT, name="broken")
def broken(delivery: Delivery, context: Any) -> None:
    raise RuntimeError("this processor always fails")


@functions_framework.http
def loaded_metrics_modules(request: flask.Request) -> flask.Response:
    loaded = sorted(
        name for name in sys.modules if name.split(".")[0] in ("prometheus_client", "opentelemetry")
    )
    return flask.Response(json.dumps(loaded), content_type="application/json")
