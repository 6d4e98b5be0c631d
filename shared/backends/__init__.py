"""The backends both sides stand on: the idempotency store, the queues (handoff), document
collections, the Google clients, and the batching that lets concurrent requests share one
store or queue call. Nothing here knows a provider or a processor."""

from shared.backends._clients import EMULATOR_PROJECT as EMULATOR_PROJECT
from shared.backends._clients import make_cloudbuild as make_cloudbuild
from shared.backends._documents import DocumentCollection as DocumentCollection
from shared.backends._documents import FirestoreCollection as FirestoreCollection
from shared.backends._documents import SqliteCollection as SqliteCollection
from shared.backends._intake import EmbeddedIntake as EmbeddedIntake
from shared.backends._intake import intake_for as intake_for

__all__ = [
    "DocumentCollection",
    "EMULATOR_PROJECT",
    "EmbeddedIntake",
    "FirestoreCollection",
    "SqliteCollection",
    "intake_for",
    "make_cloudbuild",
]
