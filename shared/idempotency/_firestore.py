"""The production IdempotencyStore on Firestore.

The claim is `create()` (fails with AlreadyExists/Conflict when the document exists); a
takeover, completion or release is conditional on the document's update time, so two
attempts can never both win. `expire_at` is a Timestamp for a Firestore TTL policy; the
state machine also checks it, because TTL deletion can lag by a day.
Every call carries what is left of the request's deadline and no automatic retry: a call
retried after its deadline would act after the caller already answered 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._clients import backend_errors
from .._deadline import remaining
from .._errors import BackendUnavailable
from ._store import IdempotencyRecord, IdempotencyStore, Version


class FirestoreStore(IdempotencyStore):
    def __init__(self, client: Callable[[], Any], collection: str) -> None:
        self._client = client  # the runtime's Firestore client, built on first use
        self.collection = collection

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
        try:
            result = self._call("create", self._doc(record.doc_id).create, self._fields(record))
        except backend_errors() as exc:
            if _is_conflict(exc):
                return None
            raise
        version: Version = result.update_time
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
        return record, snapshot.update_time

    def replace(self, record: IdempotencyRecord, expected: Version) -> Version | None:
        client = self._client()
        try:
            result = self._call(
                "update",
                self._doc(record.doc_id).update,
                self._fields(record),
                option=client.write_option(last_update_time=expected),
            )
        except backend_errors() as exc:
            if _is_conflict(exc):
                return None
            raise
        version: Version = result.update_time
        return version

    def delete(self, doc_id: str, expected: Version) -> bool:
        client = self._client()
        try:
            self._call(
                "delete",
                self._doc(doc_id).delete,
                option=client.write_option(last_update_time=expected),
            )
        except backend_errors() as exc:
            if _is_conflict(exc):
                return False
            raise
        return True


def _never_sent(exc: BaseException) -> bool:
    """UNAVAILABLE: the server could not be reached (refused, no channel), so the call did
    not run; a timeout, by contrast, may have been applied without its answer coming back."""
    from google.api_core.exceptions import ServiceUnavailable

    return isinstance(exc, ServiceUnavailable)


def _is_conflict(exc: BaseException) -> bool:
    """The precondition failed: someone else changed or removed the document first."""
    from google.api_core.exceptions import AlreadyExists, Conflict, FailedPrecondition, NotFound

    return isinstance(exc, AlreadyExists | Conflict | FailedPrecondition | NotFound)
