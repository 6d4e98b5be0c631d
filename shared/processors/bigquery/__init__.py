"""Every delivery (or the selected ones) as one row of a BigQuery table."""

from shared.processors.bigquery._rows import SCHEMA as SCHEMA
from shared.processors.bigquery._rows import row_for as row_for
from shared.processors.bigquery._writer import TableWriter as TableWriter

__all__ = [
    "SCHEMA",
    "TableWriter",
    "row_for",
]
