"""The backends of one process, built from the settings on first use: the Google clients,
the idempotency store, the publishers of the queues, the routes and the document
collections. `Runtime` adds the processors and the life cycle on top.

Each backend is built on first use, inside the process that uses it: a pre-fork master
never holds a gRPC channel or a SQLite connection that a worker would inherit. A new backend
is one more lazily built field here, not a module-level singleton.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from shared._deadline import deadline_scope
from shared._lazy import Lazy
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
from shared.backends.handoff import Publisher
from shared.backends.idempotency import Idempotency, IdempotencyStore, make_store
from shared.providers import CertificateCache, verify_google_oidc
from shared.receiving import Route
from shared.runtime._publishers import make_publisher
from shared.settings import Secrets, Settings

# Fulfilment handlers are short (a store lookup, a publish) and bounded by their budget; a
# call whose handler waits here for a thread still answers in time, with the fallback.
FULFILMENT_THREADS = 32


class Backends:
    def __init__(
        self,
        settings: Settings,
        *,
        publisher: Publisher | None = None,
        store: IdempotencyStore | None = None,
    ) -> None:
        """Backends given here replace the ones the settings name (tests, embedding)."""
        self.settings = settings
        self.secrets = Secrets(settings.dev)
        self._adc_project: Lazy[str] = Lazy(default_project)
        self._firestore: Lazy[Any] = Lazy(lambda: make_firestore(self.project))
        self._pubsub: Lazy[Any] = Lazy(make_publisher_client)
        self._tasks: Lazy[Any] = Lazy(lambda: make_tasks_client(settings.queue.tasks_emulator))
        self._certificates: Lazy[CertificateCache] = Lazy(CertificateCache)
        self._fulfilment_pool: Lazy[ThreadPoolExecutor] = Lazy(_fulfilment_pool)
        self._idempotency: Lazy[Idempotency] = Lazy(lambda: self._build_idempotency(store))
        self._publisher: Lazy[Publisher] = Lazy(lambda: self._build_publisher(publisher))
        # Where Cloud Tasks mode sends messages that are not deliveries (deploy commands).
        self._command_publisher: Lazy[Publisher] = Lazy(partial(self._make_publisher, "pubsub"))
        # The queues some targets use besides the default one (RUNRUN_TARGET_QUEUES).
        self._other_publishers: dict[str, Lazy[Publisher]] = {
            kind: Lazy(partial(self._build_other, kind))
            for kind in settings.queue.queues_used - {settings.queue.kind}
        }
        self._documents: dict[str, DocumentCollection] = {}
        self._intakes: dict[int, EmbeddedIntake | None] = {}  # by publisher
        self._routes: dict[str, Route] = {}  # by target
        self._lock = threading.Lock()

    @property
    def project(self) -> str | None:
        settings = self.settings
        if settings.server.project is not None:
            return settings.server.project
        if settings.store.firestore_emulator or settings.queue.pubsub_emulator:
            return EMULATOR_PROJECT
        if settings.server.on_cloud_run:
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
        other = self._other_publishers.get(self.settings.queue.queue_for(target))
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
            store or self._make_store(),
            lease_seconds=self.settings.store.lease_seconds,
            ttl_seconds=self.settings.store.key_ttl_seconds,
        )

    def _make_store(self) -> IdempotencyStore:
        settings = self.settings
        return make_store(
            settings.store,
            settings.server.state_dir,
            beside_queue="local" in settings.queue.queues_used,
            firestore=lambda: self.firestore,
        )

    def _build_publisher(self, given: Publisher | None) -> Publisher:
        return self._with_worker(given or self._make_publisher(self.settings.queue.kind))

    def _build_other(self, kind: str) -> Publisher:
        return self._with_worker(self._make_publisher(kind))

    def _make_publisher(self, kind: str) -> Publisher:
        return make_publisher(
            kind,
            self.settings.queue,
            self.settings.server.state_dir,
            self.settings.server.project,
            self.settings.store.lease_seconds,
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
                if self.settings.store.kind == "firestore":
                    collection = FirestoreCollection(lambda: self.firestore, name)
                else:
                    path = self.settings.server.state_dir / "documents.sqlite3"
                    collection = SqliteCollection(path, name)
                self._documents[name] = collection
            return collection

    def deadline(self, seconds: float | None = None) -> contextlib.AbstractContextManager[None]:
        """A budget for backend calls (default RUNRUN_DEADLINE_SECONDS)."""
        settings = self.settings
        budget = settings.receive.deadline_seconds if seconds is None else seconds
        return deadline_scope(budget, retry_after=settings.server.retry_after_seconds)

    def verify_push(self, headers: Mapping[str, str]) -> Mapping[str, Any]:
        """Check Google's OIDC token on a push request (see `verify.verify_google_oidc`)."""
        return verify_google_oidc(headers, self.certificates)

    def _with_worker(self, publisher: Publisher) -> Publisher:
        """A hook for the runtime: start what consumes a publisher it just built."""
        return publisher


def _fulfilment_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=FULFILMENT_THREADS, thread_name_prefix="fulfil")
