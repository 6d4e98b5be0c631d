"""The runtime: everything one process needs to receive and process deliveries, built once
from the settings and passed to the pipelines (they reach for nothing else).

    Runtime(settings)
    ├── secrets        env vars, then dev secrets (dev mode only)
    ├── idempotency    the state machine over the store RUNRUN_STORE names
    ├── publisher      Pub/Sub, Cloud Tasks, the local queue (plus its worker), or memory
    │                  in tests; publisher_for(target) when targets use different queues
    ├── route_for(target)  how a target's deliveries are handed off: embedded intake (store
    │                  and queue one SQLite file), chained, or step by step
    ├── processors     the ProcessorRegistry that `process` runs (RUNRUN_PROCESSORS)
    ├── processor_context(registration)  what one processor sees: its settings block,
    │                  its client (built on first use, closed at stop), deadline, documents
    ├── observers      who hears each outcome (runrun's inspector records through one)
    ├── certificates   Google's token certificates, cached for their max-age
    ├── fulfilment_pool  the threads Dialogflow fulfilment handlers run on, within a budget
    └── firestore, pubsub, documents(name)   the clients and collections behind them

The backends are built on first use, in `Backends` (_backends.py); this class adds the
processors and the life cycle.

`runrun` builds the runtime in each worker, starts and warms it before serving and stops
it at SIGTERM. Under plain `functions-framework --target X` (no start-up hook)
`current_runtime()` builds and starts it on first use, and warms it beside the first
requests (shared/runtime/_warm.py). The pipelines see the runtime only through their own
Protocols (`ReceivingRuntime`, `ProcessingRuntime`, `FulfilmentRuntime`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared._deadline import deadline_scope
from shared._errors import WebhookError
from shared._lazy import Lazy
from shared._observe import Observer, Observers
from shared._renewals import Renewals
from shared._trace import Tracer
from shared.backends.handoff import LocalQueue, LocalWorker, Publisher
from shared.backends.idempotency import IdempotencyStore
from shared.backends.idempotency._sqlite import SqliteStore
from shared.processing import ProcessorContext, ProcessorRegistry, Registration, process_event
from shared.processing._completions import deferring
from shared.processing._run_claims import claiming
from shared.runtime._backends import Backends
from shared.runtime._contexts import ProcessorContexts
from shared.runtime._registry import check_scheduling, import_registry
from shared.settings import Settings

if TYPE_CHECKING:
    from shared._delivery import Delivery

log = logging.getLogger("runrun.runtime")
# Per backend: a worker waits this long at most for a backend that does not answer.
WARM_TIMEOUT_SECONDS = 5.0


class Runtime(Backends):
    """Everything one process needs to receive and process deliveries (see the module
    docstring): the backends, the processors, and the life cycle of both."""

    def __init__(
        self,
        settings: Settings,
        *,
        processors: ProcessorRegistry | None = None,
        publisher: Publisher | None = None,
        store: IdempotencyStore | None = None,
        observers: Iterable[Observer] = (),
        run_queue_worker: bool = True,
        span_exporter: Any = None,
    ) -> None:
        """Backends given here replace the ones the settings name (tests, embedding); a
        `span_exporter` (OpenTelemetry's) replaces the one RUNRUN_TRACES names."""
        super().__init__(settings, publisher=publisher, store=store)
        self.observers = Observers(observers)
        # Built by `start` when traces are on: None costs the delivery path one check.
        self.tracer: Tracer | None = None
        self._span_exporter = span_exporter
        self._processors = processors
        self._run_queue_worker = run_queue_worker
        self._contexts = ProcessorContexts(self)
        self._worker: LocalWorker | None = None
        self._renewals: Lazy[Renewals] = Lazy(Renewals)
        self._stopped = False

    def _with_worker(self, publisher: Publisher) -> Publisher:
        if isinstance(publisher, LocalQueue) and self._run_queue_worker:
            self._start_worker(publisher)
        return publisher

    @property
    def processors(self) -> ProcessorRegistry | None:
        """The registry that `process` runs: given, or imported from RUNRUN_PROCESSORS."""
        if self._processors is None:
            self._processors = import_registry(self.settings.server.processors)
        return self._processors

    def processor_context(self, registration: Registration) -> ProcessorContext[Any, Any]:
        """What `registration`'s processor sees of this runtime (built once per processor)."""
        return self._contexts.get(registration)

    def processor_settings(self, registration: Registration) -> Any:
        """`registration`'s own settings block, read once (what its context carries)."""
        return self._contexts.get(registration).settings

    @property
    def renewals(self) -> Renewals:
        """The heartbeats of running processors' claims and of leased queue messages (one
        timer thread, started by the first run)."""
        return self._renewals.get()

    def enabled(self, registration: Registration) -> bool:
        """Whether `registration` runs in this process (asked of its own settings block)."""
        return self._contexts.get(registration).enabled

    # --- what the pipelines call -------------------------------------------------------

    def schedule(
        self, delivery: Delivery, *, delay: float | None = None, at: float | datetime | None = None
    ) -> str:
        """Hand `delivery` to its target's queue to run later: `delay` seconds from now, or
        `at` (a Unix time or an aware datetime). A follow-up is a Delivery of its own (give
        it a delivery id of its own: that id is what keeps it from running twice).

        Raises:
            NotConfigured: the target's queue is Pub/Sub, which cannot schedule.
            BackendUnavailable: the queue did not take it.
        """
        if (delay is None) == (at is None):
            raise ValueError("schedule() takes either delay or at")
        if isinstance(at, datetime):
            if at.tzinfo is None:
                raise ValueError("schedule(at=...) needs an aware datetime")
            at = at.timestamp()
        not_before = time.time() + delay if delay is not None else at
        with self.deadline():
            return self.publisher_for(delivery.source).publish(
                self.settings.queue.topic,
                delivery.data,
                delivery.attributes(),
                not_before=not_before,
            )

    def publish(self, topic: str, delivery: Delivery, attributes: Mapping[str, str]) -> str:
        """Publish `delivery` to `topic` now, through its target's queue, with `attributes`
        (a dead letter, say); the message id.

        Raises:
            BackendUnavailable: the queue did not take it.
        """
        with self.deadline():
            return self.publisher_for(delivery.source).publish(
                topic, delivery.data, dict(attributes)
            )

    def process(self, event: Any) -> None:
        """Run the processors on one messagePublished CloudEvent (the local queue's consumer)."""
        process_event(event, self)

    def claiming(self, deliveries: list[Delivery]) -> contextlib.AbstractContextManager[object]:
        """For the block, the processors' claims of `deliveries` made in one write (the
        local queue's worker runs a batch of messages inside it: shared/processing/_run_claims.py),
        where the store makes them in one transaction; elsewhere each run claims its own."""
        try:
            batches = isinstance(self.idempotency.store, SqliteStore)
        except WebhookError:  # the store is down: each run answers for it
            batches = False
        return claiming(self, deliveries) if batches else contextlib.nullcontext()

    # --- life cycle ----------------------------------------------------------------------

    def check(self) -> Runtime:
        """Read and check every processor's own settings block and its schedule; builds
        no client and starts nothing (a server checks this before any worker starts).

        Raises:
            ConfigError: a processor's settings (or its schedule) cannot work.
        """
        registry = self.processors
        check_scheduling(self.settings, registry)
        if self.settings.traces.on and self.tracer is None:
            from shared.tracing import make_tracer  # OpenTelemetry only when traces are on

            self.tracer = make_tracer(self.settings, self.project, self._span_exporter)
        for registration in registry.registrations if registry is not None else ():
            self._contexts.get(registration)  # reads and checks its settings block now
        return self

    def start(self) -> Runtime:
        """Check the processors' settings, and build what must run before the first
        request: the local queue's worker drains what an earlier run left without waiting
        for a delivery.

        Raises:
            ConfigError: a processor's settings (or its schedule) cannot work.
        """
        self.check()
        if self.settings.queue.kind == "local" or isinstance(self._publisher.peek(), LocalQueue):
            try:
                self.publisher  # noqa: B018 - building it starts the worker
            except WebhookError as exc:  # the handoff step answers 503 until it works
                log.error("local queue worker not started", extra={"reason": exc.message})
        local = self._other_publishers.get("local")
        if local is not None:
            try:
                local.get()
            except WebhookError as exc:
                log.error("local queue worker not started", extra={"reason": exc.message})
        return self

    def warm(self, timeout: float = WARM_TIMEOUT_SECONDS) -> dict[str, float]:
        """Build the store's and the queue's clients and open their channels with one cheap
        call each (gRPC connects on first use, and a cold channel under 80 concurrent first
        deliveries costs each of them the connection set-up). Never raises: a backend that
        is down is logged and will be answered for by the delivery path. Seconds per part."""
        timings: dict[str, float] = {}
        parts: tuple[tuple[str, Callable[[], None]], ...] = (
            ("store", lambda: self.idempotency.store.warm()),
            ("queue", lambda: self.publisher.warm(self.settings.queue.topic)),
        )
        for name, warm_part in parts:
            started = time.perf_counter()
            try:
                with deadline_scope(
                    timeout, nested=False, retry_after=self.settings.server.retry_after_seconds
                ):
                    warm_part()
            except WebhookError as exc:
                log.warning("warm start failed", extra={"part": name, "reason": exc.message})
            except Exception as exc:  # noqa: BLE001 - a warm start never stops a worker
                log.warning("warm start failed", extra={"part": name, "error": type(exc).__name__})
            timings[name] = round(time.perf_counter() - started, 3)
        log.info("warm start", extra={"seconds": timings})
        return timings

    def _start_worker(self, queue: LocalQueue) -> None:
        registry = self.processors
        if registry is None:
            return  # nothing to run the messages: they wait in the outbox
        with self._lock:
            if self._worker is None and not self._stopped:
                self._worker = LocalWorker(
                    queue,
                    self.settings.queue.topic,
                    self.process,
                    claims=self.claiming,
                    completions=deferring,
                    renewals=self.renewals,
                )
                self._worker.start()

    @property
    def worker(self) -> LocalWorker | None:
        return self._worker

    def stop(self, timeout: float = 5.0) -> None:
        """Let the queue message in hand finish, flush the publisher and the observers."""
        with self._lock:
            self._stopped = True
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop(timeout)
        renewals = self._renewals.peek()
        if renewals is not None:
            renewals.close(timeout)
        built = self._publisher.peek()
        if built is not None:
            built.close(timeout)
        pool = self._fulfilment_pool.peek()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        for lazy in (self._publisher, *self._other_publishers.values()):
            built = lazy.peek()
            if built is not None:
                built.close(timeout)
        self.observers.close(timeout)
        if self.tracer is not None:  # after the worker: its last runs' spans go out too
            self.tracer.close(timeout)
        store = self._idempotency.peek()
        if store is not None:
            store.store.close()
        self._contexts.close()
