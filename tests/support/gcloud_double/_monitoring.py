"""The model's Cloud Logging log-based metrics, Cloud Monitoring alert policies and
notification channels: what the setup plan's alerts touch. Each handler checks the API is
on and the caller may, then the documented rules below (each citing its page), then changes
the model. Bodies come from files (`--config-from-file`, `--policy-from-file`), as gcloud
reads them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from . import _rules as rules
from ._iam import require
from ._rules import Refused

METRICS_PAGE = "cloud.google.com/logging/docs/reference/v2/rest/v2/projects.metrics"
POLICIES_PAGE = "cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies"
METRIC_NAME = re.compile(r"[A-Za-z0-9_\-.,+!*'()%][A-Za-z0-9_\-.,+!*'()%/]{0,99}")
CONDITION_TYPES = (
    "conditionThreshold",
    "conditionAbsent",
    "conditionMatchedLog",
    "conditionMonitoringQueryLanguage",
    "conditionPrometheusQueryLanguage",
    "conditionSql",
)
CHANNEL = re.compile(r"projects/[^/]+/notificationChannels/[^/]+")
USER_METRIC = re.compile(r'metric\.type="logging\.googleapis\.com/user/([^"]+)"')


def _project(call: Any) -> str:
    return f"projects/{call.state['project']}"


def _body(call: Any, flag: str) -> dict[str, Any]:
    path = call.flag(flag)
    try:
        found: dict[str, Any] = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise Refused(f"INVALID_ARGUMENT: --{flag}: cannot read {path}: {exc}") from None
    return found


# --- log-based metrics ----------------------------------------------------------------------


def log_metric_rules(name: str, metric: dict[str, Any]) -> None:
    """A log-based metric (METRICS_PAGE): its name is at most 100 characters of letters,
    digits and `_-.,+!*',()%/`, not starting with `/`; it has a filter; "each label key
    specified in the LabelDescriptor must have an associated extractor expression"; a
    DISTRIBUTION metric needs its bucket options and a value extractor. At most 10 labels
    (cloud.google.com/logging/quotas: "Number of labels: 10 per metric")."""
    if not METRIC_NAME.fullmatch(name) or metric.get("name", name) != name:
        raise Refused(f"INVALID_ARGUMENT: invalid metric name [{name}]")
    if not metric.get("filter"):
        raise Refused("INVALID_ARGUMENT: a log-based metric needs a filter")
    descriptor = metric.get("metricDescriptor", {})
    labels = {label["key"] for label in descriptor.get("labels", [])}
    extractors = set(metric.get("labelExtractors", {}))
    if labels != extractors:
        raise Refused(f"INVALID_ARGUMENT: labels {sorted(labels ^ extractors)} lack a match")
    if len(labels) > 10:
        raise Refused("INVALID_ARGUMENT: more than 10 labels")
    if descriptor.get("valueType") == "DISTRIBUTION" and not (
        metric.get("bucketOptions") and metric.get("valueExtractor")
    ):
        raise Refused("INVALID_ARGUMENT: a distribution needs bucketOptions and valueExtractor")


def metric_describe(call: Any) -> Any:
    rules.api_enabled(call.state, "logging")
    return rules.exists("log-based metric", call.state.setdefault("log_metrics", {}), call.words[0])


def metric_write(call: Any) -> None:
    rules.api_enabled(call.state, "logging")
    name, creating = call.words[0], call.argv[2] == "create"
    table = call.state.setdefault("log_metrics", {})
    verb = "create" if creating else "update"
    require(call.state, call.caller, _project(call), f"logging.logMetrics.{verb}")
    if creating and name in table:
        raise Refused(f"ALREADY_EXISTS: metric [{name}] already exists")
    if not creating:
        rules.exists("log-based metric", table, name)
    metric = _body(call, "config-from-file")
    log_metric_rules(name, metric)
    table[name] = {**metric, "name": name}


# --- alert policies and channels -------------------------------------------------------------


def policy_rules(state: dict[str, Any], policy: dict[str, Any]) -> None:
    """An alert policy (POLICIES_PAGE): one to six conditions, each with a display name and
    exactly one condition type; a combiner when there are several; a threshold names a
    metric type, a comparison and a duration; an aggregation aligns over at least 60 s, and
    a cross-series reducer needs a per-series aligner; a ratio's two sides align alike;
    channels are named `projects/P/notificationChannels/ID` and exist. And the model's own
    check of the plan's order: a user-defined log-based metric a condition watches exists
    (a policy on a metric nobody made would watch nothing)."""
    conditions = policy.get("conditions") or []
    if not 1 <= len(conditions) <= 6:
        raise Refused("INVALID_ARGUMENT: a policy has from one to six conditions")
    if len(conditions) > 1 and policy.get("combiner") not in (
        "AND",
        "OR",
        "AND_WITH_MATCHING_RESOURCE",
    ):
        raise Refused("INVALID_ARGUMENT: several conditions need a combiner")
    for condition in conditions:
        kinds = [kind for kind in CONDITION_TYPES if kind in condition]
        if not condition.get("displayName") or len(kinds) != 1:
            raise Refused("INVALID_ARGUMENT: a condition has a display name and one type")
        if kinds == ["conditionThreshold"]:
            _threshold_rules(state, condition["conditionThreshold"])
    for channel in policy.get("notificationChannels", []):
        if not CHANNEL.fullmatch(channel):
            raise Refused(f"INVALID_ARGUMENT: [{channel}] is not a notification channel name")
        rules.exists("notification channel", state.setdefault("channels", {}), channel)


def _threshold_rules(state: dict[str, Any], threshold: dict[str, Any]) -> None:
    filter_ = threshold.get("filter", "")
    if "metric.type=" not in filter_ or not threshold.get("comparison"):
        raise Refused("INVALID_ARGUMENT: a threshold names a metric type and a comparison")
    if not str(threshold.get("duration", "")).endswith("s"):
        raise Refused("INVALID_ARGUMENT: a threshold needs a duration")
    sides = [threshold.get("aggregations", [])]
    if "denominatorFilter" in threshold:
        sides.append(threshold.get("denominatorAggregations", []))
        filter_ += " " + threshold["denominatorFilter"]
    for aggregations in sides:
        for aggregation in aggregations:
            if int(str(aggregation.get("alignmentPeriod", "0s")).rstrip("s")) < 60:
                raise Refused("INVALID_ARGUMENT: alignment periods are at least 60 s")
            reducer = aggregation.get("crossSeriesReducer", "REDUCE_NONE")
            if (
                reducer != "REDUCE_NONE"
                and aggregation.get("perSeriesAligner", "ALIGN_NONE") == "ALIGN_NONE"
            ):
                raise Refused("INVALID_ARGUMENT: a cross-series reducer needs an aligner")
    if (
        len(sides) == 2
        and [[(a.get("alignmentPeriod"), a.get("groupByFields")) for a in side] for side in sides]
        != [[(a.get("alignmentPeriod"), a.get("groupByFields")) for a in sides[0]]] * 2
    ):
        raise Refused("INVALID_ARGUMENT: a ratio's two sides must align alike")
    for name in USER_METRIC.findall(filter_):
        rules.exists("log-based metric", state.setdefault("log_metrics", {}), name)


def policies_list(call: Any) -> list[dict[str, Any]]:
    rules.api_enabled(call.state, "monitoring")
    title = str(call.flag("filter", "")).removeprefix("displayName=").strip('"')
    return [p for p in call.state["policies"].values() if p["displayName"] == title]


def _from_flags(call: Any) -> dict[str, Any]:
    return {
        "displayName": call.flag("display-name"),
        "filter": call.flag("condition-filter"),
        "if": call.flag("if"),
        "notificationChannels": [
            c
            if c.startswith("projects/")
            else f"projects/{call.state['project']}/notificationChannels/{c}"
            for c in filter(None, str(call.flag("notification-channels", "")).split(","))
        ],
    }


def policies_create(call: Any) -> None:
    rules.api_enabled(call.state, "monitoring")
    require(call.state, call.caller, _project(call), "monitoring.alertPolicies.create")
    policy = _body(call, "policy-from-file") if call.flag("policy-from-file") else _from_flags(call)
    if "conditions" in policy:
        policy_rules(call.state, policy)
    title = policy["displayName"]
    table = call.state["policies"]
    if title in table:  # display names are not unique: the API makes a second policy
        table[title]["copies"] = table[title].get("copies", 1) + 1
        return
    # A policy's name is made by the API and never reused, even after a deletion.
    number = 1 + max((int(p["name"].rsplit("/", 1)[1]) for p in table.values()), default=0)
    table[title] = {**policy, "name": f"{_project(call)}/alertPolicies/{number}"}


def policies_update(call: Any) -> None:
    rules.api_enabled(call.state, "monitoring")
    require(call.state, call.caller, _project(call), "monitoring.alertPolicies.update")
    name = call.words[0]
    found = [p for p in call.state["policies"].values() if p["name"] == name]
    if not found:
        raise Refused(f"NOT_FOUND: alert policy [{name}] not found")
    policy = _body(call, "policy-from-file")
    policy_rules(call.state, policy)
    # "the policy will be replaced with the provided policy" (gcloud's help)
    call.state["policies"][found[0]["displayName"]] = {**policy, "name": name, **_copies(found[0])}


def _copies(policy: dict[str, Any]) -> dict[str, Any]:
    return {"copies": policy["copies"]} if "copies" in policy else {}


def channel_describe(call: Any) -> Any:
    rules.api_enabled(call.state, "monitoring")
    name = call.words[0]
    if not name.startswith("projects/"):
        name = f"{_project(call)}/notificationChannels/{name}"
    return rules.exists("notification channel", call.state.setdefault("channels", {}), name)


HANDLERS: dict[tuple[str, ...], Any] = {
    ("logging", "metrics", "describe"): metric_describe,
    ("logging", "metrics", "create"): metric_write,
    ("logging", "metrics", "update"): metric_write,
    ("alpha", "monitoring", "policies", "list"): policies_list,
    ("alpha", "monitoring", "policies", "create"): policies_create,
    ("alpha", "monitoring", "policies", "update"): policies_update,
    ("alpha", "monitoring", "channels", "describe"): channel_describe,
}
