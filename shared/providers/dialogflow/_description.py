"""`dialogflow_webhook`: a Dialogflow CX agent's fulfilment webhook, as the bundle's tools
see it: its target name, the secret deploy mounts and dev mode generates (the static-header
form; basic auth and ID tokens are configured by hand), and its samples.

https://cloud.google.com/dialogflow/cx/docs/concept/webhook
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.providers._samples import Samples
from shared.providers.dialogflow._sample import SAMPLES
from shared.providers.dialogflow._verify import SECRET_ENV


@dataclass(frozen=True)
class Fulfilment:
    """A fulfilment target: answered in the agent's call, never handed to the queue."""

    target: str
    secret_env: str = SECRET_ENV
    hook_envs: tuple[str, ...] = ()
    samples: Samples | None = None

    @property
    def env_names(self) -> tuple[str, ...]:
        return (self.secret_env,)


DIALOGFLOW = Fulfilment(target="dialogflow_webhook", samples=SAMPLES)
