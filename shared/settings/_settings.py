"""The settings of one process: one frozen block per concern, composed by
`Settings.from_env()`, each block reading its own variables.

Every variable is read through `_env`'s readers, so a bad value is refused the same way
wherever it is read. The runtime (the composition root), the bundle's hooks and runrun's
deploy plan call `get_settings()`; every module below them gets the block it needs as a
value. Each processor's own block lives in its package (`shared/processors/<name>/`) and is
read when the runtime builds that processor's context. Secrets are read on each use
(`_env.secrets_from_env`): a secret is never copied into a long-lived object.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

from shared.settings._dev import DevSettings
from shared.settings._dialogflow import DialogflowSettings
from shared.settings._metrics import MetricsSettings
from shared.settings._queue import QueueSettings
from shared.settings._receive import DEADLINE_PREFIX, ReceiveSettings
from shared.settings._server import ServerSettings
from shared.settings._store import StoreSettings
from shared.settings._traces import TraceSettings, trace_settings


@dataclass(frozen=True)
class Settings:
    """Everything the receiving and processing paths read from the environment, by concern."""

    server: ServerSettings
    dev: DevSettings
    receive: ReceiveSettings
    store: StoreSettings
    queue: QueueSettings
    dialogflow: DialogflowSettings
    # RUNRUN_TRACES and its company (shared/settings/_traces.py): off unless configured.
    traces: TraceSettings = TraceSettings()
    metrics: MetricsSettings = MetricsSettings()

    @classmethod
    def from_env(cls) -> Settings:
        server = ServerSettings.from_env()
        dev = DevSettings.from_env(server)
        return cls(
            server=server,
            dev=dev,
            receive=ReceiveSettings.from_env(),
            store=StoreSettings.from_env(server.on_cloud_run),
            queue=QueueSettings.from_env(server.on_cloud_run),
            dialogflow=DialogflowSettings.from_env(),
            traces=trace_settings(server.on_cloud_run),
            metrics=MetricsSettings.from_env(dev.enabled),
        )

    def unknown_targets_named(self, targets: Iterable[str]) -> list[str]:
        """The settings that name a target not among `targets`: a misspelt name would
        otherwise leave that target on its defaults without a word."""
        known = {name.lower() for name in targets}
        named = [
            f"{DEADLINE_PREFIX}{name.upper()}"
            for name in self.receive.deadline_overrides
            if name not in known
        ]
        named += [
            f"RUNRUN_TARGET_QUEUES={name}"
            for name in self.queue.target_queues
            if name.lower() not in known
        ]
        return named


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings.from_env()


def reload_settings() -> Settings:
    """Forget the cached settings and read the environment again."""
    get_settings.cache_clear()
    return get_settings()
