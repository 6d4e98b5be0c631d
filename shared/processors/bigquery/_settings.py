"""The bigquery processor's block: its table, which deliveries it keeps, and the timeout of
each call; off while no table is set."""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings import ConfigError, Settings, env_float, env_text


@dataclass(frozen=True)
class BigQuerySettings:
    table: str | None  # RUNRUN_BIGQUERY_TABLE: [project.]dataset.table; None: off
    events: tuple[tuple[str, str], ...]  # RUNRUN_BIGQUERY_EVENTS: target:event pairs, or all
    timeout_seconds: float  # RUNRUN_BIGQUERY_TIMEOUT_SECONDS
    emulator_host: str | None  # BIGQUERY_EMULATOR_HOST
    project: str | None  # the client's project (default: the dataset's, or ADC's)

    @classmethod
    def from_env(cls, settings: Settings) -> BigQuerySettings:
        return cls(
            table=_table(),
            events=_pairs("RUNRUN_BIGQUERY_EVENTS"),
            timeout_seconds=env_float("RUNRUN_BIGQUERY_TIMEOUT_SECONDS", 10.0),
            emulator_host=env_text("BIGQUERY_EMULATOR_HOST") or None,
            project=settings.server.project,
        )


def _table() -> str | None:
    raw = env_text("RUNRUN_BIGQUERY_TABLE")
    if not raw:
        return None
    parts = raw.split(".")
    if len(parts) not in (2, 3) or not all(parts):
        raise ConfigError(
            f"RUNRUN_BIGQUERY_TABLE must be dataset.table or project.dataset.table, got {raw!r}"
        )
    return raw


def _pairs(name: str) -> tuple[tuple[str, str], ...]:
    """`target:event,target:*` selections; empty means every delivery."""
    pairs = []
    for item in env_text(name).split(","):
        if not item.strip():
            continue
        target, sep, event = item.strip().partition(":")
        if not sep or not target.strip() or not event.strip():
            raise ConfigError(f"{name}: {item.strip()!r} is not target:event (use * for any)")
        pairs.append((target.strip(), event.strip()))
    return tuple(pairs)
