"""One BatchWrite RPC for a batch of idempotency writes, built as plain protobuf messages.

The client's own builders (`BulkWriteBatch.create/update/delete`) walk every field through
its generic document extractor and proto-plus wrappers: on the emulator path that was 42%
of the receiving workers' Python time (py-spy, docs/benchmarks.md). The records here are
flat (strings, integers, timestamps, nulls), so each write is assembled directly as the
`Write` message those builders produce: a create has the precondition `exists = false`, an
update the record's fields with their names as the update mask and the update-time
precondition, a delete its update-time precondition. The RPC itself still goes through the
client's GAPIC method (its channel, metadata, deadline and error mapping).
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.cloud.firestore_v1.types import common, firestore, write
from google.protobuf.timestamp_pb2 import Timestamp

if TYPE_CHECKING:
    from ._firestore import _Write

_BatchWriteRequest: Any = firestore.BatchWriteRequest
_WritePb: Any = write.Write.pb()
_Precondition: Any = common.Precondition.pb()


def timestamp(value: Any) -> Timestamp:
    """A Timestamp message for an aware datetime (or a Timestamp already)."""
    if isinstance(value, Timestamp):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("Firestore timestamps must be timezone-aware datetimes")
        seconds = calendar.timegm(value.utctimetuple())
        return Timestamp(seconds=seconds, nanos=value.microsecond * 1000)
    raise TypeError(f"not a timestamp: {type(value).__name__}")


def _set_value(target: Any, value: Any) -> None:
    """Fill the Value message `target` (a map entry, set in place: no copy) with `value`."""
    if value is None:
        target.null_value = 0
    elif isinstance(value, bool):
        target.boolean_value = value
    elif isinstance(value, int):
        target.integer_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, bytes):
        target.bytes_value = value
    elif isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("Firestore timestamps must be timezone-aware datetimes")
        stamp = target.timestamp_value
        stamp.seconds = calendar.timegm(value.utctimetuple())
        stamp.nanos = value.microsecond * 1000
    else:
        raise TypeError(f"cannot store a {type(value).__name__} in an idempotency record")


def _write(prefix: str, item: _Write) -> Any:
    name = f"{prefix}/{item.doc_id}"
    if item.action == "delete":
        return _WritePb(delete=name, current_document=_precondition(item))
    fields = item.fields or {}
    pb = _WritePb(current_document=_precondition(item))
    document = pb.update
    document.name = name
    values = document.fields
    for field, value in fields.items():
        _set_value(values[field], value)
    if item.action == "update":
        # Field names here are plain identifiers: each is its own field path.
        pb.update_mask.field_paths.extend(fields)
    return pb


def _precondition(item: _Write) -> Any:
    if item.action == "create":
        return _Precondition(exists=False)
    if item.expected is None:
        return _Precondition(exists=True)
    return _Precondition(update_time=timestamp(item.expected))


def batch_write(client: Any, collection: str, items: Sequence[_Write], timeout: float) -> Any:
    """Send `items` in one BatchWrite on `client` (a firestore.Client); the raw response,
    whose `status` and `write_results` line up with `items`."""
    database = client._database_string
    prefix = f"{database}/documents/{collection}"
    request = _BatchWriteRequest.pb()(
        database=database, writes=[_write(prefix, item) for item in items]
    )
    response = client._firestore_api.batch_write(
        request=_BatchWriteRequest.wrap(request),
        metadata=client._rpc_metadata,
        retry=None,
        timeout=timeout,
    )
    return type(response).pb(response)
