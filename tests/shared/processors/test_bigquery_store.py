"""The bigquery processor against a real query engine: PyPI's bqemulator (DuckDB underneath),
reached by the official google-cloud-bigquery client, rows queried back with that client.

The emulator is lax where BigQuery is strict (unknown and REQUIRED fields silently NULL,
insertId not deduplicated, bad types answered 500): the tests that end in "_quirk" pin
each of those, and our own checks cover what the emulator would let through.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from functions.processors import registry
from shared import ConfigError, Runtime, current_runtime, reload_settings, stop_runtime
from shared.processors.bigquery import SCHEMA, TableWriter, row_for
from tests.shared.processors.test_notify_fcm import delivery, invoice, process
from tests.support.bqemulator import PROJECT

PUSH = {"ref": "refs/heads/main", "repository": {"name": "w", "full_name": "acme/w"}}


def client(host: str) -> bigquery.Client:
    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=f"http://{host}"),
    )


def writer() -> TableWriter:
    """The runtime's table writer (the client the processor uses)."""
    bigquery = next(r for r in registry.registrations if r.name == "bigquery")
    writer: TableWriter = current_runtime().processor_context(bigquery).client
    return writer


def restart() -> None:
    """A new runtime on the settings of the moment."""
    stop_runtime()
    reload_settings()


def rows(host: str, table: str, order: str = "delivery_id") -> list[dict[str, Any]]:
    bq = client(host)
    try:
        result = bq.query(f"SELECT * FROM `{table}` ORDER BY {order}", timeout=30).result()
        return [dict(row.items()) for row in result]
    finally:
        bq.close()


def test_each_delivery_becomes_one_row(on_bigquery: tuple[str, str]) -> None:
    host, table = on_bigquery
    process(delivery("stripe_webhook", "invoice.paid", invoice(amount=2500), "d-1"))
    process(delivery("github_webhook", "push", PUSH, "d-2"))

    found = rows(host, table)
    assert [(r["source"], r["delivery_id"], r["event_type"]) for r in found] == [
        ("stripe_webhook", "d-1", "invoice.paid"),
        ("github_webhook", "d-2", "push"),
    ]
    stripe, github = found
    assert (stripe["stripe_amount"], stripe["stripe_currency"]) == (2500, "usd")
    assert stripe["github_repository"] is None
    assert github["github_repository"] == "acme/w"
    assert github["stripe_amount"] is None
    assert stripe["received_at"].isoformat() == "2030-01-01T00:00:00+00:00"
    assert stripe["payload"] == invoice(amount=2500)  # the client parses a JSON column


def test_the_table_is_created_from_the_schema_in_code(on_bigquery: tuple[str, str]) -> None:
    host, table = on_bigquery
    process(delivery("stripe_webhook", "invoice.paid", invoice()))
    bq = client(host)
    try:
        schema = bq.get_table(table, timeout=10).schema
    finally:
        bq.close()
    assert [(f.name, f.field_type, f.mode) for f in schema] == list(SCHEMA)


def test_a_redelivery_adds_no_second_row(on_bigquery: tuple[str, str]) -> None:
    host, table = on_bigquery
    item = delivery("stripe_webhook", "invoice.paid", invoice())
    process(item)
    process(item)
    assert [r["delivery_id"] for r in rows(host, table)] == ["d-1"]


def test_insert_id_is_not_deduplicated_quirk(on_bigquery: tuple[str, str]) -> None:
    """BigQuery dedupes a retried insertId (best effort); the emulator does not. So the
    test above proves the processor's claim, not the emulator, kept the row single."""
    host, table = on_bigquery
    item = delivery("stripe_webhook", "invoice.paid", invoice())
    writer().insert(item)
    writer().insert(item)  # the same insertId, as a retried request would send it
    assert [r["delivery_id"] for r in rows(host, table)] == ["d-1", "d-1"]


def test_unknown_and_required_fields_are_silently_null_quirk(
    on_bigquery: tuple[str, str],
) -> None:
    host, table = on_bigquery
    writer().ensure_table()
    bq = client(host)
    try:
        errors = bq.insert_rows_json(table, [{"delivery_id": "x", "no_such_column": 1}])
    finally:
        bq.close()
    # BigQuery would refuse both the missing REQUIRED `source` and the unknown column.
    assert errors == []
    [row] = rows(host, table)
    assert row["source"] is None and "no_such_column" not in row


@pytest.mark.parametrize(
    "item",
    [
        delivery("stripe_webhook", "invoice.paid", invoice()),
        delivery("github_webhook", "push", PUSH),
        delivery("generic_webhook", "", {"x": [1, {"y": None}]}),
        delivery("stripe_webhook", "charge.succeeded", {"data": {"object": {"amount": True}}}),
    ],
)
def test_rows_hold_only_schema_columns_with_every_required_one(item: Any) -> None:
    """Our own check of what the emulator lets through."""
    row = row_for(item)
    columns = {name: (kind, mode) for name, kind, mode in SCHEMA}
    assert set(row) <= set(columns)
    for name, (kind, mode) in columns.items():
        if mode == "REQUIRED":
            assert isinstance(row.get(name), str) and row[name]
        if kind == "INTEGER" and row.get(name) is not None:
            assert type(row[name]) is int
    assert json.loads(row["payload"]) == item.json()


def test_bad_types_give_500_and_fail_within_the_retry_deadline_quirk(
    on_bigquery: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The emulator answers a bad type with 500, which the client retries for 10 minutes by
    default; the writer's retry deadline makes it fail soon, so the queue can redeliver."""
    from google.api_core.exceptions import InternalServerError, RetryError

    monkeypatch.setenv("RUNRUN_BIGQUERY_TIMEOUT_SECONDS", "1")
    restart()
    bad = {**row_for(delivery("stripe_webhook", "invoice.paid", invoice())), "stripe_amount": "x"}
    monkeypatch.setattr("shared.processors.bigquery._writer.row_for", lambda item: bad)
    with pytest.raises((InternalServerError, RetryError)):
        writer().insert(delivery("stripe_webhook", "invoice.paid", invoice()))


def test_only_the_selected_events_are_stored(
    on_bigquery: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    host, table = on_bigquery
    monkeypatch.setenv("RUNRUN_BIGQUERY_EVENTS", "github_webhook:*, stripe_webhook:invoice.paid")
    restart()
    process(delivery("stripe_webhook", "invoice.created", invoice(), "d-1"))
    process(delivery("stripe_webhook", "invoice.paid", invoice(), "d-2"))
    process(delivery("github_webhook", "push", PUSH, "d-3"))
    assert [r["delivery_id"] for r in rows(host, table)] == ["d-2", "d-3"]


def test_bigquery_is_off_until_a_table_is_set() -> None:
    item = delivery("stripe_webhook", "invoice.paid", invoice())
    runtime = Runtime(reload_settings(), processors=registry)
    assert "bigquery" not in [r.name for r in registry.matching(item) if runtime.enabled(r)]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("RUNRUN_BIGQUERY_TABLE", "deliveries", "must be dataset.table or project.dataset.table"),
        ("RUNRUN_BIGQUERY_TABLE", "a..b", "must be dataset.table or project.dataset.table"),
        ("RUNRUN_BIGQUERY_EVENTS", "stripe_webhook", "'stripe_webhook' is not target:event"),
        ("RUNRUN_BIGQUERY_TIMEOUT_SECONDS", "soon", "must be a number"),
    ],
)
def test_bad_settings_are_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:  # the check a server makes before serving
        Runtime(reload_settings(), processors=registry).check()
    assert name in str(refused.value) and message in str(refused.value)
    monkeypatch.delenv(name)
