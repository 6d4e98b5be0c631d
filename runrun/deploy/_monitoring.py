"""Alerts in the one-time setup: the notification channels the plan names, checked first;
then the log-based metrics and alert policies a library asks for (`DeployNeeds`), each made
or brought up to date, every policy sent to the plan's channels (RUNRUN_ALERT_CHANNELS).

- A log-based metric is described, then updated or created from its LogMetric body
  (`gcloud logging metrics ... --config-from-file`,
  cloud.google.com/logging/docs/reference/v2/rest/v2/projects.metrics).
- An alert policy is found by its display name, then replaced (`policies update`) or
  created from its AlertPolicy body (`--policy-from-file`,
  cloud.google.com/monitoring/api/ref_v3/rest/v3/projects.alertPolicies); Cloud Monitoring
  has no GA gcloud command for policies: alpha, as for the dead letters' policies.
- Each body is written to a file of a temporary folder first (the flags take a file).

A second run finds everything and writes the same bodies: nothing changes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._settings import PlanSettings
from ._shell import render

FOLDER = "${MONITORING_DIR}"


def _p(s: PlanSettings) -> str:
    return f"--project={s.project}"


def channel_names(s: PlanSettings) -> list[str]:
    """The channels' full names (`projects/P/notificationChannels/ID`), as policies take them."""
    return [
        c if c.startswith("projects/") else f"projects/{s.project}/notificationChannels/{c}"
        for c in s.alert_channels
    ]


def channels_exist(s: PlanSettings) -> list[str]:
    """Stop the setup at once when a named channel does not exist: a policy sent nowhere
    would tell nobody."""
    base = ["gcloud", "alpha", "monitoring", "channels", "describe"]
    return [render([*base, name, _p(s)]) + " >/dev/null" for name in channel_names(s)]


def monitoring_setup(s: PlanSettings) -> list[str]:
    """The library's log-based metrics, then its alert policies."""
    needs = s.needs
    if not needs.log_metrics and not needs.alert_policies:
        return []
    lines = ["# Alerts: log-based metrics and the policies watching them"]
    lines.append("MONITORING_DIR=$(mktemp -d)")
    for metric in needs.log_metrics:
        lines += _log_metric(metric, s)
    for policy in needs.alert_policies:
        lines += _alert_policy(policy, s)
    return lines


def _write(body: Mapping[str, Any], file: str) -> str:
    """A shell line writing `body` as JSON to `file` (single-quoted: nothing in it expands)."""
    text = json.dumps(body, sort_keys=True)
    if "$" in text:  # render() would double-quote it, and the shell expand it
        raise ValueError(f"a monitoring body may not hold '$': {text[:80]}")
    return render(["printf", "%s\\n", text]) + f' > "{file}"'


def _log_metric(metric: Mapping[str, Any], s: PlanSettings) -> list[str]:
    name = str(metric["name"])
    file = f"{FOLDER}/metric-{name}.json"
    base = ["gcloud", "logging", "metrics"]
    from_file = f"--config-from-file={file}"
    return [
        _write(metric, file),
        f"if {render([*base, 'describe', name, _p(s)])} >/dev/null 2>&1; then "
        f"{render([*base, 'update', name, from_file, _p(s)])} >/dev/null; else "
        f"{render([*base, 'create', name, from_file, _p(s)])} >/dev/null; fi",
    ]


def _alert_policy(policy: Mapping[str, Any], s: PlanSettings) -> list[str]:
    title = str(policy["displayName"])
    body = {**policy, "notificationChannels": channel_names(s)}
    file = f"{FOLDER}/policy-{title.replace(':', '-')}.json"
    base = ["gcloud", "alpha", "monitoring", "policies"]
    listed = [*base, "list", _p(s), f"--filter=displayName={title}", "--format=value(name)"]
    from_file = f"--policy-from-file={file}"
    return [
        _write(body, file),
        f"POLICY=$({render(listed)})",
        f'if [ -n "$POLICY" ]; then {render([*base, "update", "${POLICY}", from_file, _p(s)])}'
        f" >/dev/null; else {render([*base, 'create', from_file, _p(s)])} >/dev/null; fi",
    ]
