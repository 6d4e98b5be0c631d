"""What a library contributes to a deploy, in plain values: the APIs it calls, the secrets
each target reads, the variables every target needs, the topics and queue it hands work to,
the roles its runtime account must hold, the Firestore TTL it relies on, setup steps of
its own, the log-based metrics and alert policies that watch it, and the jobs it runs on a
schedule. A library can return these as a plain mapping (`DeployNeeds.from_mapping`)
without importing runrun; runrun turns them into the plans' commands.

A plain functions project contributes nothing (`DeployNeeds()`): its plan is its functions
or service, its event triggers and its accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class QueueNeeds:
    """A Cloud Tasks queue the library hands deliveries to (run mode)."""

    queue: str  # the queue id
    rate: float = 500.0  # dispatches per second
    max_concurrent: int = 1000
    min_backoff: float = 1.0  # seconds
    max_backoff: float = 600.0  # seconds: Cloud Tasks' retries back off up to this
    retry_hours: float = 24.0  # how long a failing task keeps being retried, at least
    dispatch_deadline: int = 600  # seconds a task's request may run (the service's timeout)
    # Variables the service reads to send tasks; values may hold `{url}` (the service's URL)
    # and `{max_attempts}` (the queue's, for the last attempt's dead letter).
    env: Mapping[str, str] = field(default_factory=dict)


Command = tuple[str, ...]


@dataclass(frozen=True)
class ScheduledStep:
    """One idempotent step of a scheduled job's setup: `apply` runs when `describe` fails
    (or every time when there is none: a command that converges by itself). Arguments may
    hold `{image}`, `{runtime_email}` and `{scheduler_email}`, which the plan fills in."""

    comment: str
    apply: Command
    describe: Command | None = None


@dataclass(frozen=True)
class ScheduledNeeds:
    """Jobs the library runs on a schedule (Cloud Scheduler starting a Cloud Run job): the
    steps that make them, and the secrets they read (made by the setup, readable by the
    runtime account, which the jobs run as)."""

    steps: tuple[ScheduledStep, ...]
    secrets: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> ScheduledNeeds:
        steps = tuple(
            ScheduledStep(
                str(comment), tuple(apply), tuple(describe) if describe is not None else None
            )
            for comment, apply, describe in values["steps"]
        )
        return cls(steps, tuple(values.get("secrets", ())))


@dataclass(frozen=True)
class DeployNeeds:
    """Everything a library adds to a deploy plan (all optional)."""

    apis: tuple[str, ...] = ()  # e.g. "firestore.googleapis.com"
    secrets: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # target -> env names
    env: Mapping[str, str] = field(default_factory=dict)  # every target's variables
    published_topics: tuple[str, ...] = ()  # the runtime account publishes to these
    event_topics: Mapping[str, str] = field(default_factory=dict)  # event target -> topic
    # (project, role) of the runtime account, and (service account email, role) on accounts
    project_roles: tuple[tuple[str, str], ...] = ()
    account_roles: tuple[tuple[str, str], ...] = ()
    firestore_ttl: tuple[str, str] | None = None  # (collection group, timestamp field)
    queue: QueueNeeds | None = None
    # The processing target, whose dead letters the runtime publishes itself (Cloud Tasks)
    dead_letter_publisher: str = ""
    setup_lines: tuple[str, ...] = ()  # shell lines of the library's own setup (bq...)
    # Cloud Logging LogMetric bodies (each with its "name") and Cloud Monitoring AlertPolicy
    # bodies (each with its "displayName"), as the APIs take them: the setup makes or
    # updates each, and gives every policy the plan's notification channels.
    log_metrics: tuple[Mapping[str, Any], ...] = ()
    alert_policies: tuple[Mapping[str, Any], ...] = ()
    scheduled: ScheduledNeeds | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | DeployNeeds) -> DeployNeeds:
        """The needs a library returned as plain values (lists and dicts are accepted)."""
        if isinstance(values, DeployNeeds):
            return values
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown deploy needs: {', '.join(unknown)}")
        found: dict[str, Any] = {}
        for name, value in values.items():
            if name == "queue" and isinstance(value, Mapping):
                value = QueueNeeds(**value)
            elif name == "scheduled" and isinstance(value, Mapping):
                value = ScheduledNeeds.from_mapping(value)
            elif name == "secrets":
                value = {target: tuple(envs) for target, envs in value.items()}
            elif name in ("project_roles", "account_roles"):
                value = tuple((str(a), str(b)) for a, b in value)
            elif name == "firestore_ttl" and value is not None:
                value = (str(value[0]), str(value[1]))
            elif isinstance(value, list):
                value = tuple(value)
            found[name] = value
        return cls(**found)

    def all_secrets(self) -> list[str]:
        scheduled = self.scheduled.secrets if self.scheduled is not None else ()
        return sorted({*(env for envs in self.secrets.values() for env in envs), *scheduled})
