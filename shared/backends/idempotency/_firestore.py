"""The production IdempotencyStore on Firestore.

The claim is `create()` (fails with AlreadyExists/Conflict when the document exists); a
takeover, completion or release is conditional on the document's update time, so two
attempts can never both win. `expire_at` is a Timestamp for a Firestore TTL policy; the
state machine also checks it, because TTL deletion can lag by a day.
Every call carries what is left of the request's deadline and no automatic retry: a call
retried after its deadline would act after the caller already answered 503.

Writes from concurrent requests share one round trip (shared/backends/_batching.py): one BatchWrite
RPC (built in `_firestore_protos`), each write with its own precondition (exists =
false for a claim, the update time for the rest) and its own status in the answer, so a
conflict on one key fails that caller alone. BatchWrite applies writes independently,
unlike Commit (`WriteBatch`), where one failed precondition fails them all. `BulkWriter` is
not used: it sends from background threads and retries after the caller gave up. A batch
never holds two writes to one document (BatchWrite refuses them); reads stay single calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shared._deadline import remaining
from shared._errors import BackendUnavailable
from shared.backends._batching import Batcher, Followup
from shared.backends._clients import backend_errors
from shared.backends.idempotency._firestore_write import StoreWrite
from shared.backends.idempotency._store import IdempotencyRecord, IdempotencyStore, Version

# BatchWrite takes at most 500 writes.
_MAX_WRITES = 500
# Per-write statuses (google.rpc.Code) meaning "someone else changed the document first":
# NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED (as `_is_conflict` below).
_CONFLICT_CODES = frozenset({5, 6, 9, 10})


# A write's outcome: its new update time (True for a delete), or None when its
# precondition failed.
_Outcome = Any


class FirestoreStore(IdempotencyStore):
    def __init__(self, client: Callable[[], Any], collection: str) -> None:
        self._client = client  # the runtime's Firestore client, built on first use
        self.collection = collection
        self._writes: Batcher[StoreWrite, _Outcome] = Batcher(
            "idempotency store", self._write_batch, max_items=_MAX_WRITES, key=_doc_key
        )

    def stats(self) -> dict[str, float]:
        """BatchWrite RPCs and writes sent so far."""
        return self._writes.stats()

    def _write_batch(self, writes: list[StoreWrite], timeout: float) -> list[_Outcome]:
        """One BatchWrite RPC: per write, its update time, None (conflict) or its failure."""
        from shared.backends.idempotency._firestore_protos import (
            batch_write,  # the client's modules, on first use
        )

        try:
            response = batch_write(self._client(), self.collection, writes, timeout)
        except backend_errors() as exc:
            return [_failed(write.action, exc) for write in writes]
        outcomes: list[_Outcome] = []
        for write, status, result in zip(
            writes, response.status, response.write_results, strict=True
        ):
            if status.code == 0:  # a delete has no update time: True says it was applied
                outcomes.append(True if write.action == "delete" else result.update_time)
            elif status.code in _CONFLICT_CODES:
                outcomes.append(None)
            else:  # this write was refused, the others stand
                outcomes.append(
                    BackendUnavailable(
                        f"idempotency store failed to {write.action}: code {status.code}",
                        retry_after=1,
                        may_have_applied=False,
                    )
                )
        return outcomes

    def _doc(self, doc_id: str) -> Any:
        return self._client().collection(self.collection).document(doc_id)

    @staticmethod
    def _fields(record: IdempotencyRecord) -> dict[str, Any]:
        return {
            "target": record.target,
            "key": record.key,
            "status": record.status,
            "payload_hash": record.payload_hash,
            "lease_expires_at": record.lease_expires_at,
            "expire_at": record.expire_at,
            "response_status": record.response_status,
            "response_body": record.response_body,
            "response_content_type": record.response_content_type,
            "claim_token": record.claim_token,
        }

    def _call(self, action: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, retry=None, timeout=remaining(), **kwargs)
        except backend_errors() as exc:
            if _is_conflict(exc):
                raise
            raise BackendUnavailable(
                f"idempotency store failed to {action}: {type(exc).__name__}",
                retry_after=1,
                may_have_applied=not _never_sent(exc),
            ) from exc

    def warm(self) -> None:
        # Reading a document that never exists: the cheapest call that opens the channel.
        self._call("read", self._doc("_runrun_warm_start").get)

    def create(self, record: IdempotencyRecord) -> Version | None:
        version: Version | None = self._writes.submit(
            StoreWrite("create", record.doc_id, self._fields(record))
        )
        return version

    def get(self, doc_id: str) -> tuple[IdempotencyRecord, Version] | None:
        snapshot = self._call("read", self._doc(doc_id).get)
        if not snapshot.exists:
            return None
        data = snapshot.to_dict()
        record = IdempotencyRecord(
            target=data["target"],
            key=data["key"],
            status=data["status"],
            payload_hash=data["payload_hash"],
            lease_expires_at=data["lease_expires_at"],
            expire_at=data["expire_at"],
            response_status=data.get("response_status"),
            response_body=data.get("response_body"),
            response_content_type=data.get("response_content_type"),
            claim_token=data.get("claim_token") or "",
        )
        # The same kind of version as a write returns: the Timestamp message.
        return record, snapshot.update_time.timestamp_pb()

    def replace(self, record: IdempotencyRecord, expected: Version) -> Version | None:
        version: Version | None = self._writes.submit(
            StoreWrite("update", record.doc_id, self._fields(record), expected)
        )
        return version

    def create_followup(self, record: IdempotencyRecord) -> Followup:
        """The same write as `create`, its outcome the version or None (it existed)."""
        return Followup(self._writes, StoreWrite("create", record.doc_id, self._fields(record)))

    def replace_followup(self, record: IdempotencyRecord, expected: Version) -> Followup:
        """The same write as `replace`, its outcome the new version or None (conflict)."""
        return Followup(
            self._writes, StoreWrite("update", record.doc_id, self._fields(record), expected)
        )

    def delete(self, doc_id: str, expected: Version) -> bool:
        return self._writes.submit(StoreWrite("delete", doc_id, None, expected)) is not None


def _doc_key(write: StoreWrite) -> str:
    return write.doc_id


def _failed(action: str, exc: BaseException) -> BackendUnavailable:
    """The whole RPC failed: each of its writes answers for it."""
    failure = BackendUnavailable(
        f"idempotency store failed to {action}: {type(exc).__name__}",
        retry_after=1,
        may_have_applied=not _never_sent(exc),
    )
    failure.__cause__ = exc
    return failure


def _never_sent(exc: BaseException) -> bool:
    """UNAVAILABLE: the server could not be reached (refused, no channel), so the call did
    not run; a timeout, by contrast, may have been applied without its answer coming back."""
    from google.api_core.exceptions import ServiceUnavailable

    return isinstance(exc, ServiceUnavailable)


def _is_conflict(exc: BaseException) -> bool:
    """The precondition failed: someone else changed or removed the document first."""
    from google.api_core.exceptions import AlreadyExists, Conflict, FailedPrecondition, NotFound

    return isinstance(exc, AlreadyExists | Conflict | FailedPrecondition | NotFound)
