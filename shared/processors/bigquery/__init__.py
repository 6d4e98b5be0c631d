"""BigQuery: every delivery as one row of RUNRUN_BIGQUERY_TABLE (created if missing), or only
the `target:event` pairs listed in RUNRUN_BIGQUERY_EVENTS; switched off while no table is set."""

from __future__ import annotations

from shared._delivery import Delivery
from shared.processing import ProcessorContext, Registration
from shared.processors.bigquery._rows import SCHEMA as SCHEMA
from shared.processors.bigquery._rows import row_for as row_for
from shared.processors.bigquery._settings import BigQuerySettings as BigQuerySettings
from shared.processors.bigquery._writer import TableWriter as TableWriter


def _selected(delivery: Delivery, selection: tuple[tuple[str, str], ...]) -> bool:
    return not selection or any(
        target in ("*", delivery.source) and event in ("*", delivery.event_type)
        for target, event in selection
    )


def bigquery(delivery: Delivery, context: ProcessorContext[BigQuerySettings, TableWriter]) -> None:
    if _selected(delivery, context.settings.events):
        context.client.insert(delivery)


def _configured(block: BigQuerySettings) -> bool:
    return block.table is not None


PROCESSOR = Registration(
    "bigquery",
    bigquery,
    settings=BigQuerySettings.from_env,
    enabled=_configured,
    client=TableWriter,
    close_client=TableWriter.close,
)

__all__ = [
    "BigQuerySettings",
    "PROCESSOR",
    "SCHEMA",
    "TableWriter",
    "bigquery",
    "row_for",
]
