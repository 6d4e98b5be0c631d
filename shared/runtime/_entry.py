"""What a target calls: each pipeline on this process's runtime (built on first use), or
on the runtime given (tests, embedding)."""

from __future__ import annotations

import flask

from shared.dialogflow import Fulfilment, FulfilmentRegistry, fulfil_with
from shared.processing import process_push_with
from shared.providers import Provider
from shared.receiving import receive_with
from shared.runtime._current import current_runtime
from shared.runtime._runtime import Runtime


def receive(
    request: flask.Request, provider: Provider, runtime: Runtime | None = None
) -> flask.Response:
    """Run `request` through the receive pipeline for `provider` and return the answer."""
    return receive_with(request, provider, current_runtime() if runtime is None else runtime)


def process_push(request: flask.Request, runtime: Runtime | None = None) -> flask.Response:
    """Answer one push request (Pub/Sub, Cloud Tasks) to the processing target."""
    return process_push_with(request, current_runtime() if runtime is None else runtime)


def fulfil(
    request: flask.Request,
    target: Fulfilment,
    registry: FulfilmentRegistry,
    runtime: Runtime | None = None,
) -> flask.Response:
    """Answer one webhook call of a Dialogflow CX agent."""
    return fulfil_with(request, target, registry, current_runtime() if runtime is None else runtime)
