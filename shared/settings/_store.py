"""The store's block: which backend keeps the idempotency records and the documents, and
how long a key is remembered and a claim is held."""

from __future__ import annotations

import os
from dataclasses import dataclass

from shared.settings._env import env_choice, env_int, env_text

STORES = ("firestore", "sqlite", "memory")
# A processor's claim and a local queue message's lease: short, so that the work of a
# crashed process is taken over within seconds; a live run renews it every third of it.
LEASE_SECONDS = 10


@dataclass(frozen=True)
class StoreSettings:
    kind: str  # RUNRUN_STORE: firestore, sqlite or memory
    idempotency_collection: str  # RUNRUN_IDEMPOTENCY_COLLECTION
    key_ttl_seconds: int  # RUNRUN_KEY_TTL_SECONDS
    lease_seconds: int  # RUNRUN_LEASE_SECONDS
    firestore_emulator: str | None  # FIRESTORE_EMULATOR_HOST

    @classmethod
    def from_env(cls, on_cloud_run: bool) -> StoreSettings:
        emulator = env_text("FIRESTORE_EMULATOR_HOST") or None
        default = "firestore" if emulator or on_cloud_run else "sqlite"
        return cls(
            kind=env_choice("RUNRUN_STORE", STORES, default),
            idempotency_collection=(
                os.environ.get("RUNRUN_IDEMPOTENCY_COLLECTION") or "idempotency_keys"
            ),
            key_ttl_seconds=env_int("RUNRUN_KEY_TTL_SECONDS", 7 * 24 * 3600, minimum=1),
            lease_seconds=env_int("RUNRUN_LEASE_SECONDS", LEASE_SECONDS, minimum=1),
            firestore_emulator=emulator,
        )
