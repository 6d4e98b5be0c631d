"""What a deploy plan needs to run catch-up on a schedule, from the catch-up settings, as
plain values a deploy tool reads (runrun's `DeployNeeds`, key `scheduled`) without this
package importing it.

Settings (read where the plan is made):

- `RUNRUN_CATCHUP_GITHUB`: the hook, as the command's own arguments (`--repo OWNER/REPO
  --hook-id N`, `--org ORG --hook-id N`, or `--app`); unset, nothing is scheduled.
- `RUNRUN_CATCHUP_GITHUB_AUTH`: `token` (default: the `GITHUB_TOKEN` secret) or `app`
  (the `GITHUB_APP_ID` and `GITHUB_APP_PRIVATE_KEY` secrets; `GITHUB_APP_INSTALLATION_ID`
  carried as a plain variable when set).
- `RUNRUN_CATCHUP_SCHEDULE`: when, as Cloud Scheduler's unix-cron (UTC); default every hour.

The steps are `schedule_steps`' own, with the deploy's image and accounts left as
`{image}`, `{runtime_email}` and `{scheduler_email}` for the plan to fill in.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from ._cli import choose_hook, parser
from ._errors import UsageError
from ._schedule import schedule_steps

HOOK_SETTING = "RUNRUN_CATCHUP_GITHUB"
AUTH_SETTING = "RUNRUN_CATCHUP_GITHUB_AUTH"
SCHEDULE_SETTING = "RUNRUN_CATCHUP_SCHEDULE"
SECRETS = {"token": ("GITHUB_TOKEN",), "app": ("GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY")}
# Five fields of unix-cron (cloud.google.com/scheduler/docs/configuring/cron-job-schedules):
# the full grammar is Cloud Scheduler's to check; this catches a missing or extra field.
_CRON = re.compile(r"\S+(\s+\S+){4}")


def scheduled_needs(
    env: Mapping[str, str], *, project: str, region: str, collection: str
) -> dict[str, Any]:
    """{"apis": [...], "scheduled": {...}} when catch-up is configured, else {}.

    `collection`: the idempotency collection the service writes, which the job reads."""
    hook = env.get(HOOK_SETTING, "").strip()
    if not hook:
        return {}
    hook_args = shlex.split(hook)
    try:
        app = choose_hook(parser().parse_args(["github", *hook_args])).installation_path is None
    except UsageError as exc:
        raise UsageError(f"{HOOK_SETTING}: {exc.message}") from None
    auth = env.get(AUTH_SETTING, "").strip() or ("app" if app else "token")
    if auth not in SECRETS:
        raise UsageError(f"{AUTH_SETTING} must be token or app, got {auth!r}")
    if app and auth != "app":
        raise UsageError(f"{HOOK_SETTING}=--app needs the App's credentials: {AUTH_SETTING}=app")
    schedule = env.get(SCHEDULE_SETTING, "").strip() or "0 * * * *"
    if not _CRON.fullmatch(schedule):
        raise UsageError(f"{SCHEDULE_SETTING} {schedule!r} is not five unix-cron fields")
    variables = {
        "GOOGLE_CLOUD_PROJECT": project,
        "RUNRUN_STORE": "firestore",
        "RUNRUN_IDEMPOTENCY_COLLECTION": collection,
    }
    installation = env.get("GITHUB_APP_INSTALLATION_ID", "").strip()
    if auth == "app" and installation:
        variables["GITHUB_APP_INSTALLATION_ID"] = installation
    secrets = SECRETS[auth]
    steps = schedule_steps(
        project=project,
        region=region,
        image="{image}",
        runtime_account="{runtime_email}",
        scheduler_account="{scheduler_email}",
        hook_args=hook_args,
        env=variables,
        secrets={name: name for name in secrets},
        schedule=schedule,
    )
    return {
        "apis": ["cloudscheduler.googleapis.com"],
        "scheduled": {
            "secrets": list(secrets),
            "steps": [[step.comment, step.apply, step.describe] for step in steps],
        },
    }
