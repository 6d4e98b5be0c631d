"""BigQuery: every delivery as one row of RUNRUN_BIGQUERY_TABLE (created if missing), or only
the `target:event` pairs listed in RUNRUN_BIGQUERY_EVENTS; switched off while no table is set."""

from shared import Delivery, Runtime, Settings

from . import registry


def _configured(settings: Settings) -> bool:
    return settings.bigquery_table is not None


def _selected(delivery: Delivery, settings: Settings) -> bool:
    selection = settings.bigquery_events
    return not selection or any(
        target in ("*", delivery.source) and event in ("*", delivery.event_type)
        for target, event in selection
    )


@registry.register(name="bigquery", enabled=_configured)
def bigquery(delivery: Delivery, runtime: Runtime) -> None:
    if _selected(delivery, runtime.settings):
        runtime.bigquery.insert(delivery)
