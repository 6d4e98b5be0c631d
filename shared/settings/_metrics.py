"""The metrics' settings, one block: whether `/_runrun/metrics` is served and with which token,
and whether the same figures go to Cloud Monitoring (docs/observability.md, "Metrics").

    RUNRUN_METRICS=1|0                  the endpoint; default: on in dev mode only
    RUNRUN_METRICS_TOKEN                the bearer token it needs (outside dev mode, required)
    RUNRUN_METRICS_EXPORT=cloud-monitoring|none   default none
    RUNRUN_METRICS_EXPORT_INTERVAL_SECONDS        default 60, at least 10
    RUNRUN_METRICS_EXPORT_ENDPOINT      host:port of a local stand-in of the Monitoring API
                                        (tests): plain gRPC, no credentials

and the thresholds of the alert policies the setup plan makes (read when planning, never
by the service; docs/observability.md, "Alerts"):

    RUNRUN_ALERT_ERROR_SHARE            a target's 5xx share over 5 minutes that alerts
                                        (default 0.05)
    RUNRUN_ALERT_PROCESSOR_FAILURES     failed runs of one processor in 5 minutes above
                                        which it alerts (default 0: the first one)
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.settings._env import (
    ConfigError,
    env_choice,
    env_float,
    env_int,
    env_switch,
    env_text,
)

EXPORTS = ("none", "cloud-monitoring")
# The exporter writes each time series at most once per interval; Cloud Monitoring takes one
# point per time series every 5 seconds at most (cloud.google.com/monitoring/quotas), and the
# exporter's own guidance is 10 s between two writes of one series.
MIN_EXPORT_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True)
class MetricsSettings:
    """What the metrics read from the environment; everything off by default outside dev mode."""

    switch: bool | None = None  # RUNRUN_METRICS; None: the default (on in dev mode only)
    token: str | None = None
    dev: bool = False
    export: str = "none"
    export_interval_seconds: float = 60.0
    export_endpoint: str | None = None
    alert_error_share: float = 0.05
    alert_processor_failures: int = 0

    @classmethod
    def from_env(cls, dev: bool) -> MetricsSettings:
        interval = env_float("RUNRUN_METRICS_EXPORT_INTERVAL_SECONDS", 60.0)
        if interval < MIN_EXPORT_INTERVAL_SECONDS:
            raise ConfigError(
                "RUNRUN_METRICS_EXPORT_INTERVAL_SECONDS must be at least "
                f"{MIN_EXPORT_INTERVAL_SECONDS:g} (Cloud Monitoring's write rate), got {interval:g}"
            )
        share = env_float("RUNRUN_ALERT_ERROR_SHARE", 0.05)
        if share >= 1:
            raise ConfigError(f"RUNRUN_ALERT_ERROR_SHARE must be a share below 1, got {share:g}")
        return cls(
            alert_error_share=share,
            alert_processor_failures=env_int("RUNRUN_ALERT_PROCESSOR_FAILURES", 0),
            switch=env_switch("RUNRUN_METRICS"),
            token=env_text("RUNRUN_METRICS_TOKEN") or None,
            dev=dev,
            export=env_choice("RUNRUN_METRICS_EXPORT", EXPORTS, "none"),
            export_interval_seconds=interval,
            export_endpoint=env_text("RUNRUN_METRICS_EXPORT_ENDPOINT") or None,
        )

    @property
    def served(self) -> bool:
        """`/_runrun/metrics`: on by default in dev mode only; anywhere else only with
        RUNRUN_METRICS=1 and a token, never open without one."""
        if self.switch is False:
            return False
        if self.dev:
            return True
        return self.switch is True and self.token is not None

    @property
    def exported(self) -> bool:
        return self.export != "none"

    @property
    def collected(self) -> bool:
        """Whether this process counts anything at all (off: nothing is imported)."""
        return self.served or self.exported

    def refusal(self) -> str | None:
        """Why a server must not start with these settings, or None."""
        if self.switch is True and not self.served:
            return (
                "RUNRUN_METRICS=1 outside dev mode needs RUNRUN_METRICS_TOKEN: the metrics "
                "name every target and processor, so they are never served without a token"
            )
        return None
