"""The alerts the setup plan makes for this bundle, as Cloud Logging and Cloud Monitoring API
bodies (plain values: runrun's deploy plan writes them; docs/observability.md, "Alerts").

They stand on log-based metrics, counted by Cloud Logging from the JSON line every answered
request and every failed processor run already writes (shared/_log.py), not on the metrics
this process exports: a log-based metric counts every instance and both deploy modes
(a function deployed alone has no exporter), costs the delivery path nothing, and exists
whether or not RUNRUN_METRICS_EXPORT is on.

    log-based metrics (cloud.google.com/logging/docs/reference/v2/rest/v2/projects.metrics)
    ├── runrun_deliveries          counter: target, outcome, status
    ├── runrun_receive_latency     distribution of latency_ms: target, bucketed around the
    │                              providers' answer windows
    └── runrun_processor_failures  counter: processor
    alert policies (cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies)
    ├── runrun:deliveries-5xx       a target's 5xx share over 5 minutes > RUNRUN_ALERT_ERROR_SHARE
    ├── runrun:receive-latency-p99  a target's p99 over 5 minutes > its deadline (its provider's
    │                               answer window less the safety margin): near the window
    └── runrun:processor-failures   a processor's failed runs in 5 minutes >
                                    RUNRUN_ALERT_PROCESSOR_FAILURES
    (and, made by runrun for every dead-letter subscription: runrun:<subscription>)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from itertools import groupby
from typing import Any

from shared.settings import Settings

from ._build import receive_buckets

USER = "logging.googleapis.com/user/"
DELIVERIES = "runrun_deliveries"
LATENCY = "runrun_receive_latency"
FAILURES = "runrun_processor_failures"
WINDOW = "300s"
# "A policy can have from one to six conditions" (the AlertPolicy reference above).
MAX_CONDITIONS = 6
# The JSON lines each metric counts: the one line per answered request, and per failed run.
DELIVERY_LINES = 'jsonPayload.logger="runrun.receive" AND jsonPayload.message=~"^delivery "'
FAILED_RUN_LINES = (
    'jsonPayload.logger="runrun.process" AND jsonPayload.message=~"^processor failed"'
)


def alert_needs(settings: Settings, deadlines: Mapping[str, float]) -> dict[str, Any]:
    """What the setup plan makes: {"log_metrics": [...], "alert_policies": [...]}, for the
    receiving targets whose deadlines (seconds) are given."""
    return {
        "log_metrics": log_metrics(settings, deadlines),
        "alert_policies": alert_policies(settings, deadlines),
    }


def log_metrics(settings: Settings, deadlines: Mapping[str, float]) -> list[dict[str, Any]]:
    """The three log-based metrics' LogMetric bodies."""
    bounds = sorted({*receive_buckets(settings), *deadlines.values()})
    labels = {"target": "target", "outcome": "outcome", "status": "status"}
    return [
        _counter(DELIVERIES, "Requests answered by the receiving targets.", DELIVERY_LINES, labels),
        {
            "name": LATENCY,
            "description": "Milliseconds from a request's arrival to its answer, per target.",
            "filter": DELIVERY_LINES,
            "valueExtractor": "EXTRACT(jsonPayload.latency_ms)",
            "labelExtractors": {"target": "EXTRACT(jsonPayload.target)"},
            "metricDescriptor": {
                "metricKind": "DELTA",
                "valueType": "DISTRIBUTION",
                "unit": "ms",
                "labels": [{"key": "target", "valueType": "STRING"}],
            },
            "bucketOptions": {"explicitBuckets": {"bounds": [round(b * 1000, 3) for b in bounds]}},
        },
        _counter(
            FAILURES, "Processor runs that failed.", FAILED_RUN_LINES, {"processor": "processor"}
        ),
    ]


def _counter(name: str, description: str, lines: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "filter": lines,
        "labelExtractors": {key: f"EXTRACT(jsonPayload.{field})" for key, field in labels.items()},
        "metricDescriptor": {
            "metricKind": "DELTA",
            "valueType": "INT64",
            "unit": "1",
            "labels": [{"key": key, "valueType": "STRING"} for key in labels],
        },
    }


def alert_policies(settings: Settings, deadlines: Mapping[str, float]) -> list[dict[str, Any]]:
    """The AlertPolicy bodies (without notification channels: the plan adds its own)."""
    metrics = settings.metrics
    policies = [
        _policy(
            "runrun:deliveries-5xx",
            [_error_share(metrics.alert_error_share)],
            "A receiving target answered more than its share of 5xx. Providers retry a 5xx, "
            "except GitHub: run `runrun catch-up github` once the cause is fixed. The service's "
            'log lines with `jsonPayload.logger="runrun.receive"` and `severity=ERROR` say why.',
        ),
        _policy(
            "runrun:processor-failures",
            [_processor_failures(metrics.alert_processor_failures)],
            "A processor failed. Failed runs are retried; the last attempt is dead-lettered "
            "(`runrun dead-letters list process_delivery`). Its log lines "
            '(`jsonPayload.message="processor failed"`) name the error\'s type.',
        ),
    ]
    conditions = _latency_conditions(deadlines)
    for start in range(0, len(conditions), MAX_CONDITIONS):
        suffix = "" if start == 0 else f"-{start // MAX_CONDITIONS + 1}"
        policies.append(
            _policy(
                f"runrun:receive-latency-p99{suffix}",
                conditions[start : start + MAX_CONDITIONS],
                "A target's slowest answers come near its provider's answer window: past it, "
                "the provider counts the delivery as failed and retries it (or, GitHub, drops "
                "it). Look at the store's and the queue's latency first.",
            )
        )
    return policies


def _policy(title: str, conditions: list[dict[str, Any]], advice: str) -> dict[str, Any]:
    return {
        "displayName": title,
        "combiner": "OR",
        "conditions": conditions,
        "documentation": {"content": advice, "mimeType": "text/markdown"},
        "alertStrategy": {"autoClose": "1800s"},
    }


def _sum_by(label: str, aligner: str = "ALIGN_DELTA", reducer: str = "REDUCE_SUM") -> list[Any]:
    return [
        {
            "alignmentPeriod": WINDOW,
            "perSeriesAligner": aligner,
            "crossSeriesReducer": reducer,
            "groupByFields": [f"metric.label.{label}"],
        }
    ]


def _error_share(share: float) -> dict[str, Any]:
    deliveries = f'metric.type="{USER}{DELIVERIES}"'
    return {
        "displayName": f"5xx share of a target's deliveries above {share:g}",
        "conditionThreshold": {
            "filter": f'{deliveries} AND metric.label.status=starts_with("5")',
            "aggregations": _sum_by("target"),
            "denominatorFilter": deliveries,
            "denominatorAggregations": _sum_by("target"),
            "comparison": "COMPARISON_GT",
            "thresholdValue": share,
            "duration": "0s",
        },
    }


def _processor_failures(threshold: int) -> dict[str, Any]:
    return {
        "displayName": f"failed runs of a processor in 5 minutes above {threshold}",
        "conditionThreshold": {
            "filter": f'metric.type="{USER}{FAILURES}"',
            "aggregations": _sum_by("processor"),
            "comparison": "COMPARISON_GT",
            "thresholdValue": threshold,
            "duration": "0s",
        },
    }


def _latency_conditions(deadlines: Mapping[str, float]) -> list[dict[str, Any]]:
    """One condition per deadline, naming the targets that have it."""
    conditions = []
    latency = f'metric.type="{USER}{LATENCY}"'
    by_deadline = sorted(deadlines.items(), key=lambda item: (item[1], item[0]))
    for deadline, group in groupby(by_deadline, key=lambda item: item[1]):
        targets = [target for target, _ in group]
        names = ",".join(json.dumps(t) for t in targets)
        conditions.append(
            {
                "displayName": f"p99 above {deadline:g} s: {', '.join(targets)}",
                "conditionThreshold": {
                    "filter": f"{latency} AND metric.label.target=one_of({names})",
                    "aggregations": _sum_by("target", "ALIGN_DELTA", "REDUCE_PERCENTILE_99"),
                    "comparison": "COMPARISON_GT",
                    "thresholdValue": round(deadline * 1000, 3),
                    "duration": "0s",
                },
            }
        )
    return conditions
