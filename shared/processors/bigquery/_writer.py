"""Stream rows into BigQuery with the official client: `insertAll`, one row per delivery.

Exactly once, as far as BigQuery allows: the row's `insertId` is the delivery id, which
BigQuery uses for best-effort dedupe of retried inserts (about a minute), and the processor's
claim in the idempotency store keeps a delivery from being inserted again once it is done.
The Storage Write API's committed streams dedupe exactly by offset, but only within one
stream that a single writer owns; deliveries arrive on many instances, in any order, so each
would need a stream of its own (create, append, finalize: three calls per row) for a
guarantee the claim already gives.

Every call has an explicit timeout and a retry deadline (RUNRUN_BIGQUERY_TIMEOUT_SECONDS): the
client's default retries 5xx for 10 minutes, which would hold the queue's worker that long;
past the deadline the processor fails and the queue redelivers with its own backoff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared._delivery import Delivery
from shared._errors import PermanentFailure
from shared.processors.bigquery._rows import SCHEMA, row_for
from shared.processors.bigquery._settings import BigQuerySettings

if TYPE_CHECKING:
    from google.cloud import bigquery

# insertAll's per-row reasons that a later retry can fix; any other row error is the row's.
_TRANSIENT_REASONS = {"backendError", "internalError", "timeout", "stopped", "rateLimitExceeded"}


class TableWriter:
    """The table of RUNRUN_BIGQUERY_TABLE and its client (the processor's client: built on
    first use, closed when the runtime stops)."""

    def __init__(self, settings: BigQuerySettings) -> None:
        if settings.table is None:
            raise ValueError("RUNRUN_BIGQUERY_TABLE is not set")  # the processor is off then
        self.timeout = settings.timeout_seconds
        self.client = _client(settings.emulator_host, settings.project)
        parts = settings.table.split(".")
        if len(parts) == 2:
            parts.insert(0, self.client.project)
        self.table_id = ".".join(parts)
        self._table_ready = False

    def _retry(self) -> Any:
        from google.cloud.bigquery import DEFAULT_RETRY

        return DEFAULT_RETRY.with_deadline(self.timeout)

    def ensure_table(self) -> None:
        """Create the table from SCHEMA if it is missing (once per process)."""
        if self._table_ready:
            return
        from google.cloud import bigquery

        fields = [bigquery.SchemaField(name, kind, mode=mode) for name, kind, mode in SCHEMA]
        table = bigquery.Table(self.table_id, schema=fields)
        self.client.create_table(table, exists_ok=True, retry=self._retry(), timeout=self.timeout)
        self._table_ready = True

    def insert(self, delivery: Delivery) -> None:
        from google.api_core.exceptions import BadRequest, NotFound

        self.ensure_table()
        try:
            errors = self.client.insert_rows_json(
                self.table_id,
                [row_for(delivery)],
                row_ids=[delivery.delivery_id],
                retry=self._retry(),
                timeout=self.timeout,
            )
        except NotFound:
            self._table_ready = False  # dropped since: create it again on the redelivery
            raise
        except BadRequest as exc:
            raise PermanentFailure(f"BigQuery refused the row: {exc.message}") from None
        reasons = {e.get("reason") for row in errors for e in row.get("errors", [])}
        if reasons - _TRANSIENT_REASONS:
            raise PermanentFailure(f"BigQuery refused the row: {errors}")
        if reasons:
            raise RuntimeError(f"BigQuery could not insert the row yet: {sorted(reasons)}")

    def close(self) -> None:
        self.client.close()  # type: ignore[no-untyped-call]


def _client(emulator_host: str | None, project: str | None) -> bigquery.Client:
    # The client library is heavy to import: only a process with a table pays for it.
    from google.cloud import bigquery

    if emulator_host is None:
        return bigquery.Client(project=project)
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    endpoint = emulator_host if "://" in emulator_host else f"http://{emulator_host}"
    return bigquery.Client(
        project=project or "runrun-local",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )
