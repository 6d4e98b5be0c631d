"""What a target calls: each pipeline on this process's runtime (built on first use), or
on the runtime given (tests, embedding); and the targets a provider's description makes,
each carrying that description."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType

import flask
import functions_framework

from shared.dialogflow import FulfilmentRegistry, fulfil_with
from shared.processing import process_push_with
from shared.providers import Fulfilment, Provider, mark_target, provider_named
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


def webhook_target(provider: Provider | str) -> Callable[[flask.Request], object]:
    """The functions-framework HTTP function `provider.target`: `receive` for `provider`
    (a description, or the name of its package under shared/providers/).

    Raises:
        LookupError: no provider package of that name.
    """
    described = provider_named(provider) if isinstance(provider, str) else provider
    if not isinstance(described, Provider):
        raise TypeError(f"{described.target} is a fulfilment: make it with fulfilment_target")

    def target(request: flask.Request) -> flask.Response:
        return receive(request, described)

    return _served(target, described, sys._getframe(1))


def fulfilment_target(
    fulfilment: Fulfilment | str, registry: FulfilmentRegistry
) -> Callable[[flask.Request], object]:
    """The functions-framework HTTP function `fulfilment.target`: `fulfil` with the handlers
    of `registry` (a description, or the name of its package under shared/providers/).

    Raises:
        LookupError: no provider package of that name.
    """
    described = provider_named(fulfilment) if isinstance(fulfilment, str) else fulfilment
    if not isinstance(described, Fulfilment):
        raise TypeError(f"{described.target} is a webhook: make it with webhook_target")

    def target(request: flask.Request) -> flask.Response:
        return fulfil(request, described, registry)

    return _served(target, described, sys._getframe(1))


def _served(
    target: Callable[[flask.Request], flask.Response],
    described: Provider | Fulfilment,
    caller: FrameType,
) -> Callable[[flask.Request], object]:
    # Named after the target, because functions-framework (and Cloud Functions'
    # --entry-point) look a target's signature type up by its function's name.
    target.__name__ = target.__qualname__ = described.target
    # Defined, as far as tools can tell, where it is assigned (as namedtuple does): runrun
    # names that module when it reports a target.
    target.__module__ = caller.f_globals.get("__name__", target.__module__)
    mark_target(target, described)
    # Looked up on the module at call time: a server that observes the decorator (runrun's
    # discovery does) sees this registration too.
    return functions_framework.http(target)
