"""What a target calls: each pipeline on this process's runtime (built on first use), or
on the runtime given (tests, embedding); and the webhook target a provider's description
makes."""

from __future__ import annotations

import sys
from collections.abc import Callable

import flask
import functions_framework

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


def webhook_target(provider: Provider) -> Callable[[flask.Request], object]:
    """The functions-framework HTTP function `provider.target`: `receive` for `provider`.

    Named after the target, because functions-framework (and Cloud Functions'
    --entry-point) look a target's signature type up by its function's name.
    """

    def target(request: flask.Request) -> flask.Response:
        return receive(request, provider)

    target.__name__ = target.__qualname__ = provider.target
    # Defined, as far as tools can tell, where it is assigned (as namedtuple does): runrun's
    # deploy plan reads a target's secrets from the provider beside it in its module.
    target.__module__ = sys._getframe(1).f_globals.get("__name__", target.__module__)
    # Looked up on the module at call time: a server that observes the decorator (runrun's
    # discovery does) sees this registration too.
    return functions_framework.http(target)
