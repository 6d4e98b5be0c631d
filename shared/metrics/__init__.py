"""Metrics that answer "is it healthy?": deliveries by target and outcome, receive latency
against each provider's answer window, hand-off failures, processor runs, and the local
queue's depth, age and dead letters (docs/observability.md, "Metrics").

    MetricsObserver      counts each pipeline report into its sinks
    ├── prometheus-client (`_prometheus`)    served at /_runrun/metrics, shared by every
    │                                        worker process (`_multiproc`)
    └── OpenTelemetry (`_cloud_monitoring`)  exported to Cloud Monitoring

The bundle's serving hooks (shared/serving.py) prepare the shared directory before any
worker starts (`check_and_prepare`), add the observer to each worker's runtime
(`metrics_observer`) and mount the endpoint (`metrics_endpoint`). Off (the default outside
dev mode), none of them imports a metrics library or mounts anything. `alert_needs` is
what the deploy plan's setup makes of them: log-based metrics and alert policies.
"""

from shared.metrics._alerts import alert_needs as alert_needs
from shared.metrics._build import check_and_prepare as check_and_prepare
from shared.metrics._build import metrics_endpoint as metrics_endpoint
from shared.metrics._build import metrics_observer as metrics_observer
from shared.metrics._endpoint import MetricsEndpoint as MetricsEndpoint
from shared.metrics._observer import MetricsObserver as MetricsObserver

__all__ = [
    "MetricsEndpoint",
    "MetricsObserver",
    "alert_needs",
    "check_and_prepare",
    "metrics_endpoint",
    "metrics_observer",
]
