"""The runtime: everything one process needs to receive and process deliveries, built once
from the settings and passed to the pipelines (they reach for nothing else).

    Runtime(settings)
    ├── secrets        env vars, then dev secrets (dev mode only)
    ├── idempotency    the state machine over the store RUNRUN_STORE names
    ├── publisher      Pub/Sub, Cloud Tasks, the local queue (plus its worker), or memory
    │                  in tests; publisher_for(target) when targets use different queues
    ├── intake_for(target)  claim + message + completion in one transaction, when the
    │                  store and the queue are one SQLite file (shared/_intake.py)
    ├── processors     the ProcessorRegistry that `process` runs (RUNRUN_PROCESSORS)
    ├── processor_context(registration)  what one processor sees: its settings block,
    │                  its client (built on first use, closed at stop), deadline, documents
    ├── observers      who hears each outcome (runrun's inspector records through one)
    ├── certificates   Google's token certificates, cached for their max-age
    ├── fulfilment_pool  the threads Dialogflow fulfilment handlers run on, within a budget
    └── firestore, pubsub, documents(name)   the clients and collections behind them

Each backend is built on first use, inside the process that uses it: a pre-fork master
never holds a gRPC channel or a SQLite connection that a worker would inherit. A new backend
is one more lazily built field here, not a module-level singleton.

`runrun` builds the runtime in each worker, starts and warms it before serving and stops
it at SIGTERM. Under plain `functions-framework --target X` (no start-up hook)
`current_runtime()` builds and starts it on first use, and `warm_start_in_background()`
(shared/_warm.py) warms it beside the first requests. The pipelines see the runtime only
through their own Protocols (`ReceivingRuntime`, `ProcessingRuntime`, `FulfilmentRuntime`).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from shared._deadline import deadline_scope
from shared._errors import WebhookError
from shared._lazy import Lazy
from shared._observe import Observer, Observers
from shared.backends import (
    EMULATOR_PROJECT,
    DocumentCollection,
    EmbeddedIntake,
    FirestoreCollection,
    SqliteCollection,
    intake_for,
)
from shared.backends._clients import (
    default_project,
    make_firestore,
    make_publisher_client,
    make_tasks_client,
)
from shared.backends.handoff import LocalQueue, LocalWorker, Publisher
from shared.backends.idempotency import Idempotency, IdempotencyStore, make_store
from shared.backends.idempotency._sqlite import SqliteStore
from shared.processing import ProcessorContext, ProcessorRegistry, Registration, process_event
from shared.processing._completions import deferring
from shared.processing._run_claims import claiming
from shared.providers import CertificateCache, verify_google_oidc
from shared.receiving import Route
from shared.runtime._contexts import ProcessorContexts
from shared.runtime._publishers import make_publisher
from shared.runtime._registry import check_scheduling, import_registry
from shared.settings import Secrets, Settings

if TYPE_CHECKING:
    from shared._delivery import Delivery

log = logging.getLogger("runrun.runtime")
# Per backend: a worker waits this long at most for a backend that does not answer.
WARM_TIMEOUT_SECONDS = 5.0

# Fulfilment handlers are short (a store lookup, a publish) and bounded by their budget; a
# call whose handler waits here for a thread still answers in time, with the fallback.
FULFILMENT_THREADS = 32


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        processors: ProcessorRegistry | None = None,
        publisher: Publisher | None = None,
        store: IdempotencyStore | None = None,
        observers: Iterable[Observer] = (),
        run_queue_worker: bool = True,
    ) -> None:
        """Backends given here replace the ones the settings name (tests, embedding)."""
        self.settings = settings
        self.secrets = Secrets(settings)
        self.observers = Observers(observers)
        self._processors = processors
        self._run_queue_worker = run_queue_worker
        self._adc_project: Lazy[str] = Lazy(default_project)
        self._firestore: Lazy[Any] = Lazy(lambda: make_firestore(self.project))
        self._pubsub: Lazy[Any] = Lazy(make_publisher_client)
        self._tasks: Lazy[Any] = Lazy(lambda: make_tasks_client(settings.tasks_emulator))
        self._certificates: Lazy[CertificateCache] = Lazy(CertificateCache)
        self._fulfilment_pool: Lazy[ThreadPoolExecutor] = Lazy(_fulfilment_pool)
        self._idempotency: Lazy[Idempotency] = Lazy(lambda: self._build_idempotency(store))
        self._publisher: Lazy[Publisher] = Lazy(lambda: self._build_publisher(publisher))
        self._contexts = ProcessorContexts(self)
        # Where Cloud Tasks mode sends messages that are not deliveries (deploy commands).
        self._command_publisher: Lazy[Publisher] = Lazy(partial(self._make_publisher, "pubsub"))
        # The queues some targets use besides the default one (RUNRUN_TARGET_QUEUES).
        self._other_publishers: dict[str, Lazy[Publisher]] = {
            kind: Lazy(partial(self._build_other, kind))
            for kind in settings.queues_used - {settings.queue}
        }
        self._documents: dict[str, DocumentCollection] = {}
        self._intakes: dict[int, EmbeddedIntake | None] = {}  # by publisher
        self._routes: dict[str, Route] = {}  # by target
        self._lock = threading.Lock()
        self._worker: LocalWorker | None = None
        self._stopped = False

    # --- the backends ------------------------------------------------------------------

    @property
    def project(self) -> str | None:
        if self.settings.project is not None:
            return self.settings.project
        if self.settings.firestore_emulator or self.settings.pubsub_emulator:
            return EMULATOR_PROJECT
        if self.settings.on_cloud_run:
            return self._adc_project.get() or None
        return None

    @property
    def firestore(self) -> Any:
        return self._firestore.get()

    @property
    def pubsub(self) -> Any:
        return self._pubsub.get()

    @property
    def tasks(self) -> Any:
        """The Cloud Tasks client (on the emulator when CLOUD_TASKS_EMULATOR_HOST is set)."""
        return self._tasks.get()

    @property
    def certificates(self) -> CertificateCache:
        return self._certificates.get()

    @property
    def fulfilment_pool(self) -> ThreadPoolExecutor:
        """The threads fulfilment handlers run on, so that a call can be answered when the
        handler's budget runs out while the handler goes on."""
        return self._fulfilment_pool.get()

    @property
    def idempotency(self) -> Idempotency:
        return self._idempotency.get()

    @property
    def publisher(self) -> Publisher:
        return self._publisher.get()

    def publisher_for(self, target: str) -> Publisher:
        """The publisher of the queue `target`'s deliveries go to (RUNRUN_TARGET_QUEUES)."""
        other = self._other_publishers.get(self.settings.queue_for(target))
        return self.publisher if other is None else other.get()

    def intake_for(self, target: str) -> EmbeddedIntake | None:
        """The one-transaction intake (claim, message, completion) for `target`, when its
        store and its queue are the same SQLite file; None otherwise."""
        publisher = self.publisher_for(target)
        with self._lock:
            if id(publisher) not in self._intakes:
                self._intakes[id(publisher)] = intake_for(self.idempotency, publisher)
            return self._intakes[id(publisher)]

    def route_for(self, target: str) -> Route:
        """Where `target`'s deliveries go, and how: decided on the first delivery of each
        target, then read without a lock (a race builds the same route twice)."""
        route = self._routes.get(target)
        if route is None:
            route = Route.of(self.publisher_for(target), self.intake_for(target))
            self._routes[target] = route
        return route

    def built_publisher(self) -> Publisher | None:
        """The publisher if it was built already (shutdown must not build one)."""
        return self._publisher.peek()

    def _build_idempotency(self, store: IdempotencyStore | None) -> Idempotency:
        return Idempotency(
            store or make_store(self.settings, lambda: self.firestore),
            lease_seconds=self.settings.lease_seconds,
            ttl_seconds=self.settings.key_ttl_seconds,
        )

    def _build_publisher(self, given: Publisher | None) -> Publisher:
        return self._with_worker(given or self._make_publisher(self.settings.queue))

    def _build_other(self, kind: str) -> Publisher:
        return self._with_worker(self._make_publisher(kind))

    def _with_worker(self, publisher: Publisher) -> Publisher:
        if isinstance(publisher, LocalQueue) and self._run_queue_worker:
            self._start_worker(publisher)
        return publisher

    def _make_publisher(self, kind: str) -> Publisher:
        return make_publisher(
            kind,
            self.settings,
            pubsub=lambda: self.pubsub,
            tasks=lambda: self.tasks,
            project=lambda: self.project,
            commands=self._command_publisher.get,
        )

    def documents(self, name: str) -> DocumentCollection:
        """The document collection `name` on the backend RUNRUN_STORE selects."""
        with self._lock:
            collection = self._documents.get(name)
            if collection is None:
                if self.settings.store == "firestore":
                    collection = FirestoreCollection(lambda: self.firestore, name)
                else:
                    path = self.settings.state_dir / "documents.sqlite3"
                    collection = SqliteCollection(path, name)
                self._documents[name] = collection
            return collection

    @property
    def processors(self) -> ProcessorRegistry | None:
        """The registry that `process` runs: given, or imported from RUNRUN_PROCESSORS."""
        if self._processors is None:
            self._processors = import_registry(self.settings.processors)
        return self._processors

    def processor_context(self, registration: Registration) -> ProcessorContext[Any, Any]:
        """What `registration`'s processor sees of this runtime (built once per processor)."""
        return self._contexts.get(registration)

    def enabled(self, registration: Registration) -> bool:
        """Whether `registration` runs in this process (asked of its own settings block)."""
        return self._contexts.get(registration).enabled

    # --- what the pipelines call -------------------------------------------------------

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]:
        """A budget for backend calls (default RUNRUN_DEADLINE_SECONDS)."""
        settings = self.settings
        budget = settings.deadline_seconds if seconds is None else seconds
        return deadline_scope(budget, retry_after=settings.retry_after_seconds)

    def verify_push(self, headers: Mapping[str, str]) -> Mapping[str, Any]:
        """Check Google's OIDC token on a push request (see `verify.verify_google_oidc`)."""
        return verify_google_oidc(headers, self.certificates)

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
                self.settings.topic, delivery.data, delivery.attributes(), not_before=not_before
            )

    def process(self, event: Any) -> None:
        """Run the processors on one messagePublished CloudEvent (the local queue's consumer)."""
        process_event(event, self)

    def claiming(self, deliveries: list[Delivery]) -> contextlib.AbstractContextManager[object]:
        """For the block, the processors' claims of `deliveries` made in one write (the
        local queue's worker runs a batch of messages inside it: shared/_batch_claims.py),
        where the store makes them in one transaction; elsewhere each run claims its own."""
        try:
            batches = isinstance(self.idempotency.store, SqliteStore)
        except WebhookError:  # the store is down: each run answers for it
            batches = False
        return claiming(self, deliveries) if batches else contextlib.nullcontext()

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> Runtime:
        """Build what must run before the first request: the local queue's worker drains
        what an earlier run left without waiting for a delivery."""
        check_scheduling(self.settings, self.processors)
        if self.settings.queue == "local" or isinstance(self._publisher.peek(), LocalQueue):
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
            ("queue", lambda: self.publisher.warm(self.settings.topic)),
        )
        for name, warm_part in parts:
            started = time.perf_counter()
            try:
                with deadline_scope(
                    timeout, nested=False, retry_after=self.settings.retry_after_seconds
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
                    self.settings.topic,
                    self.process,
                    claims=self.claiming,
                    completions=deferring,
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
        store = self._idempotency.peek()
        if store is not None:
            store.store.close()
        self._contexts.close()


def _fulfilment_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=FULFILMENT_THREADS, thread_name_prefix="fulfil")
