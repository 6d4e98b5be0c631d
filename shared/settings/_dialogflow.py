"""Dialogflow CX fulfilment's block: how the agent authenticates its calls, each handler's
budget, and the answer given when a handler runs out of it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from shared.settings._env import ConfigError, env_float, env_list

# Dialogflow CX waits at most 30 s for a webhook (5 s by default).
DIALOGFLOW_MAX_TIMEOUT_SECONDS = 30.0
FALLBACK_TEXT = "Sorry, I could not get that done in time. Please try again in a moment."


@dataclass(frozen=True)
class DialogflowSettings:
    secret_header: str  # RUNRUN_DIALOGFLOW_SECRET_HEADER, lower-cased
    audiences: tuple[str, ...]  # DIALOGFLOW_AUDIENCE: the ID token's audience(s)
    service_agents: tuple[str, ...]  # DIALOGFLOW_SERVICE_AGENT: the agent's account(s)
    budget_seconds: float  # RUNRUN_DIALOGFLOW_BUDGET_SECONDS
    fallback_text: str  # RUNRUN_DIALOGFLOW_FALLBACK_TEXT

    @classmethod
    def from_env(cls) -> DialogflowSettings:
        env = os.environ
        return cls(
            secret_header=(
                env.get("RUNRUN_DIALOGFLOW_SECRET_HEADER") or "x-dialogflow-secret"
            ).lower(),
            audiences=env_list("DIALOGFLOW_AUDIENCE"),
            service_agents=env_list("DIALOGFLOW_SERVICE_AGENT"),
            # The agent waits 5 s by default: what is left covers auth, store and network.
            budget_seconds=_budget("RUNRUN_DIALOGFLOW_BUDGET_SECONDS", 4.0),
            fallback_text=env.get("RUNRUN_DIALOGFLOW_FALLBACK_TEXT") or FALLBACK_TEXT,
        )


def _budget(name: str, default: float) -> float:
    value = env_float(name, default)
    if value >= DIALOGFLOW_MAX_TIMEOUT_SECONDS:
        raise ConfigError(
            f"{name} must stay below Dialogflow's {DIALOGFLOW_MAX_TIMEOUT_SECONDS:g} s timeout,"
            f" got {value:g}"
        )
    return value
