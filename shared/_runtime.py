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
    ├── observers      who hears each outcome (runrun's inspector records through one)
    ├── certificates   Google's token certificates, cached for their max-age
    ├── firebase_app, bigquery   the notify and bigquery processors' clients (when configured)
    ├── cloudbuild     the Cloud Build client deploy-staging triggers builds with
    ├── fulfilment_pool  the threads Dialogflow fulfilment handlers run on, within a budget
    └── firestore, pubsub, documents(name)   the clients and collections behind them

Each backend is built on first use, inside the process that uses it: a pre-fork master
never holds a gRPC channel or a SQLite connection that a worker would inherit. A new backend
is one more lazily built field here, not a module-level singleton.

`runrun` builds the runtime in each worker, starts and warms it before serving and stops
it at SIGTERM (the bundle's hooks, shared/serving.py). Under plain
`functions-framework --target X` (no start-up hook) `current_runtime()` builds and starts it
on first use, the first request of each worker, and warms it beside the first requests
(shared/_warm.py).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from ._batch_claims import claiming
from ._clients import (
    EMULATOR_PROJECT,
    default_project,
    make_cloudbuild,
    make_firestore,
    make_publisher_client,
    make_tasks_client,
)
from ._config import Settings, get_settings
from ._deadline import deadline_scope
from ._env import ConfigError
from ._errors import WebhookError
from ._intake import EmbeddedIntake, intake_for
from ._lazy import Lazy
from ._observe import Observer, Observers
from ._secrets import Secrets
from ._warm import warm_first_runtime
from .handoff import LocalQueue, LocalWorker, Publisher
from .handoff._local import exponential_backoff
from .idempotency import Idempotency, IdempotencyStore, make_store
from .idempotency._sqlite import SqliteStore
from .storage import DocumentCollection, FirestoreCollection, SqliteCollection
from .verify import CertificateCache, verify_google_oidc

if TYPE_CHECKING:
    from firebase_admin import App
    from google.cloud.devtools.cloudbuild_v1 import CloudBuildClient

    from ._delivery import Delivery
    from ._process import ProcessorRegistry
    from .bigquery import TableWriter

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
        self._cloudbuild: Lazy[CloudBuildClient] = Lazy(
            lambda: make_cloudbuild(settings.cloudbuild_endpoint)
        )
        self._fulfilment_pool: Lazy[ThreadPoolExecutor] = Lazy(_fulfilment_pool)
        self._idempotency: Lazy[Idempotency] = Lazy(lambda: self._build_idempotency(store))
        self._publisher: Lazy[Publisher] = Lazy(lambda: self._build_publisher(publisher))
        self._firebase_app: Lazy[App] = Lazy(self._build_firebase_app)
        self._bigquery: Lazy[TableWriter] = Lazy(self._build_bigquery)
        # Where Cloud Tasks mode sends messages that are not deliveries (deploy commands).
        self._command_publisher: Lazy[Publisher] = Lazy(partial(self._make_publisher, "pubsub"))
        # The queues some targets use besides the default one (RUNRUN_TARGET_QUEUES).
        self._other_publishers: dict[str, Lazy[Publisher]] = {
            kind: Lazy(partial(self._build_other, kind))
            for kind in settings.queues_used - {settings.queue}
        }
        self._documents: dict[str, DocumentCollection] = {}
        self._intakes: dict[int, EmbeddedIntake | None] = {}  # by publisher
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
    def cloudbuild(self) -> CloudBuildClient:
        """The Cloud Build client (REST transport), built on first use."""
        return self._cloudbuild.get()

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

    @property
    def firebase_app(self) -> App:
        """The notify processor's Firebase app (firebase-admin is imported on first use)."""
        return self._firebase_app.get()

    @property
    def bigquery(self) -> TableWriter:
        """The bigquery processor's table writer (its client library imported on first use)."""
        return self._bigquery.get()

    def _build_firebase_app(self) -> App:
        from .notify import make_firebase_app

        return make_firebase_app(self.settings)

    def _build_bigquery(self) -> TableWriter:
        from .bigquery import TableWriter

        return TableWriter(self.settings)

    def _make_publisher(self, kind: str) -> Publisher:
        settings = self.settings
        if kind == "pubsub":
            from .handoff._pubsub import PubSubPublisher

            return PubSubPublisher(
                lambda: self.pubsub,
                lambda: self.project,
                create_topics=bool(settings.pubsub_emulator),
            )
        if kind == "tasks":
            from .handoff._tasks import CloudTasksPublisher

            assert settings.tasks_queue and settings.tasks_url  # checked by the settings
            return CloudTasksPublisher(
                lambda: self.tasks,
                queue=settings.tasks_queue,
                url=settings.tasks_url,
                service_account=settings.push_service_account,
                audience=settings.push_audience,
                topic=settings.topic,
                others=self._command_publisher.get,
                dispatch_deadline_seconds=settings.tasks_dispatch_deadline_seconds,
                create_queue=bool(settings.tasks_emulator),
            )
        low, high = settings.queue_min_backoff_seconds, settings.queue_max_backoff_seconds
        return LocalQueue(
            settings.state_dir / "queue.sqlite3",
            max_attempts=settings.queue_max_attempts,
            project=settings.project or "local",
            backoff=lambda attempts: exponential_backoff(attempts, low, high),
            rate=settings.queue_rate,
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
            self._processors = _import_registry(self.settings.processors)
        return self._processors

    # --- what the pipelines call -------------------------------------------------------

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]:
        """A budget for backend calls (default RUNRUN_DEADLINE_SECONDS)."""
        return deadline_scope(self.settings.deadline_seconds if seconds is None else seconds)

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
        from ._process import process_event

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
                with deadline_scope(timeout, nested=False):
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
                    queue, self.settings.topic, self.process, claims=self.claiming
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
        app = self._firebase_app.peek()
        if app is not None:
            from .notify import delete_firebase_app

            delete_firebase_app(app)
        writer = self._bigquery.peek()
        if writer is not None:
            writer.close()


def _fulfilment_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=FULFILMENT_THREADS, thread_name_prefix="fulfil")


def check_scheduling(settings: Settings, registry: ProcessorRegistry | None) -> None:
    """Refuse, at start, a delayed processor whose deliveries may come through Pub/Sub:
    Pub/Sub cannot hold a message back, so the delay could not be kept.

    Raises:
        ConfigError: naming the processor and the queue to choose instead.
    """
    if registry is None:
        return
    for registration in registry.registrations:
        if registration.delay is None:
            continue
        if registration.source == "*":
            queues = settings.queues_used
        else:
            queues = {settings.queue_for(registration.source)}
        if "pubsub" in queues:
            raise ConfigError(
                f"processor {registration.name!r} runs {registration.delay:g} s after its "
                "delivery, but Pub/Sub cannot schedule: choose RUNRUN_QUEUE=tasks or local "
                f"(or RUNRUN_TARGET_QUEUES={registration.source}=tasks)"
            )


def _import_registry(spec: str) -> ProcessorRegistry | None:
    from ._process import ProcessorRegistry

    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name != module_name:
            raise  # the module exists but is broken: that must not pass silently
        log.warning("no processors: the local queue keeps its messages", extra={"module": spec})
        return None
    registry = getattr(module, attribute or "registry", None)
    if not isinstance(registry, ProcessorRegistry):
        raise TypeError(f"RUNRUN_PROCESSORS={spec!r} names no ProcessorRegistry")
    return registry


class _ProcessRuntime:
    """This process's runtime: installed by runrun's worker start, or built on first use.

    Keyed by pid, so a forked child never uses its parent's (threads do not survive a fork).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._pid = 0

    def get(self) -> Runtime:
        runtime, pid = self._runtime, self._pid
        if runtime is not None and pid == os.getpid():
            return runtime
        with self._lock:
            if self._runtime is None or self._pid != os.getpid():
                self._runtime = Runtime(get_settings()).start()
                self._pid = os.getpid()
                warm_first_runtime(self._runtime)
            return self._runtime

    def install(self, runtime: Runtime) -> Runtime:
        with self._lock:
            previous = self._runtime if self._pid == os.getpid() else None
            self._runtime, self._pid = runtime, os.getpid()
        if previous is not None and previous is not runtime:
            previous.stop()
        return runtime

    def remove(self, timeout: float = 5.0) -> Runtime | None:
        with self._lock:
            runtime = self._runtime if self._pid == os.getpid() else None
            self._runtime, self._pid = None, 0
        if runtime is not None:
            runtime.stop(timeout)
        return runtime


_process = _ProcessRuntime()


def current_runtime() -> Runtime:
    """This process's runtime, built and started from the settings on first use."""
    return _process.get()


def install_runtime(runtime: Runtime) -> Runtime:
    """Make `runtime` this process's runtime (the one before it is stopped)."""
    return _process.install(runtime)


def stop_runtime(timeout: float = 5.0) -> Runtime | None:
    """Stop and forget this process's runtime; the next use builds a fresh one."""
    return _process.remove(timeout)


@contextlib.contextmanager
def using_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Run the block with `runtime` installed and started; stopped afterwards (tests)."""
    install_runtime(runtime.start())
    try:
        yield runtime
    finally:
        stop_runtime()
