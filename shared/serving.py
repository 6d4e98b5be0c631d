"""The webhook bundle's hooks for `runrun serve` and `runrun send` (see `runrun.hooks`).

The functions package builds one `ServingHooks` and main.py binds it as `runrun_hooks`;
building it starts nothing. runrun then calls, in the serving process before any worker
starts, `check` (settings validated, dev secrets prepared, the metrics' shared directory
made, backends announced); in each worker `worker_started` (this process's runtime built,
with the inspector's recorder and the metrics' observer when each is on, started and warmed
before the first request) and `worker_stopping` (the queue message in hand finished, the
publisher, the recorder and the metrics flushed); `routes` mounts the inspector at
`/_runrun/inspect` and the metrics at `/_runrun/metrics`. `runrun send` asks `samples` and
`sample_request` for signed sample deliveries; `commands` adds `runrun catch-up`.

Nothing here runs in a pre-fork master but `check` and `routes`, which build no client,
connection or thread: every one of those belongs to the worker that built it. Under plain
functions-framework none of this is called: the runtime starts on a worker's first request
(`shared.runtime._warm`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from shared._log import configure_logging
from shared._observe import Observer
from shared.backends._batch_sizes import write_out as write_batch_sizes
from shared.runtime import (
    Runtime,
    announce_backends,
    install_runtime,
    stop_runtime,
)
from shared.settings import ConfigError, Settings, get_settings, reload_settings

if TYPE_CHECKING:
    from .devtools._send import SampleDelivery

log = logging.getLogger("runrun.server")


def build_runtime(settings: Settings | None = None) -> Runtime:
    """The runtime a runrun worker serves with: the settings' backends, plus the activity
    recorder as an observer when the inspector is on."""
    settings = settings or get_settings()
    observers: list[Observer] = []
    if settings.dev.inspector_enabled:
        from .devtools._activity import ActivityRecorder  # only when the inspector is on

        observers.append(ActivityRecorder(settings.server.state_dir / "activity.sqlite3"))
    if settings.metrics.collected:
        from .metrics import metrics_observer  # only when metrics are on

        observers += filter(None, [metrics_observer(settings)])
    return Runtime(settings, observers=observers)


class ServingHooks:
    """What the bundle hands `runrun serve` (the methods of `runrun.hooks.RunrunHooks`).

    `package`: where the targets' provider descriptions live (for their secrets' names).
    """

    def __init__(self, package: str) -> None:
        self.package = package

    def check(self, served: Sequence[str], defined: Sequence[str]) -> None:
        """Refuse bad settings before any worker starts; prepare the secrets."""
        from .devtools._devsecrets import prepare_secrets
        from .devtools._targets import described_targets

        configure_logging()

        # Read afresh: the environment as the server starts with it (`--dev` writes
        # RUNRUN_DEV, `--env-file` adds variables), whatever an import read before.
        settings = reload_settings()
        # A setting naming no target of the source can only be a typo.
        unknown = settings.unknown_targets_named(defined)
        if unknown:
            targets = ", ".join(sorted(defined))
            raise ConfigError(f"{', '.join(unknown)}: no such target (the targets: {targets})")
        # A processor's bad settings, or a delayed one on Pub/Sub, are refused here, before
        # any worker starts.
        Runtime(settings).check()
        if settings.metrics.collected or settings.metrics.switch:
            from .metrics import check_and_prepare

            check_and_prepare(settings)  # before any worker imports prometheus_client
        announce_backends()
        prepare_secrets(described_targets(self.package, set(served)), settings.dev)

    def routes(self, served: Sequence[str]) -> Mapping[str, Any]:
        """The inspector at `/_runrun/inspect` and the metrics at `/_runrun/metrics`, each
        when the settings enable it."""
        settings = get_settings()
        found: dict[str, Any] = {}
        if settings.dev.inspector_enabled or settings.dev.inspect:
            from .devtools._inspect import make_inspector

            inspector = make_inspector(served, settings.dev)
            if inspector is not None:
                found["inspect"] = inspector
        if settings.metrics.served:
            from .metrics import metrics_endpoint

            found["metrics"] = metrics_endpoint(settings)
        return found

    def worker_started(self) -> None:
        """Build, start and warm this worker's runtime before it serves: the local queue's
        worker drains whatever an earlier run left in the outbox without waiting for a
        request, and the store's and the queue's channels are open before the first
        delivery."""
        configure_logging()
        runtime = install_runtime(build_runtime().start())
        runtime.warm()

    def worker_stopping(self, timeout: float = 5.0) -> None:
        """Let the queue message in hand finish; flush the publisher and the recorder."""
        try:
            stop_runtime(timeout)
            log.info("worker stopped: queue worker and publisher flushed")
        except Exception:  # a failing flush must not turn a clean shutdown into a crash loop
            log.exception("flushing the publisher at shutdown failed")
        try:
            write_batch_sizes(get_settings().server.batch_sizes_dir)
        except OSError:  # figures for the benchmark only: never a reason to fail a shutdown
            log.exception("writing the batch sizes out failed")

    def samples(self) -> Mapping[str, Sequence[str]]:
        """The sample deliveries `runrun send` can send, by target."""
        from .devtools._targets import described_targets

        described = described_targets(self.package)
        return {d.target: d.samples.events for d in described if d.samples is not None}

    def sample_request(
        self,
        target: str,
        sample: str,
        url: str,
        body: bytes | None = None,
        stale: bool = False,
        bad_signature: bool = False,
    ) -> SampleDelivery:
        """One sample delivery to `url`, signed as the target's provider signs it."""
        from .devtools._send import sample_delivery
        from .devtools._targets import described_targets

        found = described_targets(self.package, {target})
        if not found:
            raise ValueError(f"no samples for {target!r}")
        return sample_delivery(found[0], sample, url, body, stale, bad_signature)

    def commands(self) -> Mapping[str, tuple[str, Callable[[Sequence[str]], int]]]:
        """The bundle's own commands: `runrun catch-up PROVIDER ...` (docs/catch-up.md)."""
        return {"catch-up": ("ask a provider to redeliver what it gave up on", _catch_up)}


def _catch_up(args: Sequence[str]) -> int:
    from shared.catchup import main

    return main(list(args))
