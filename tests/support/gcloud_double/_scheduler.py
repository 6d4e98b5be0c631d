"""The model's Cloud Run jobs and Cloud Scheduler jobs: what the setup plan's scheduled
catch-up touches. Each handler checks the API is on and the caller may, then the documented
rules below (each citing its page), then changes the model.
"""

from __future__ import annotations

import re
from typing import Any

from . import _rules as rules
from ._deploys import _env_vars, _secrets
from ._iam import act_as, bind, has_role, member_of, require
from ._rules import Refused

JOBS_ON_SCHEDULE = "cloud.google.com/run/docs/execute/jobs-on-schedule"
RUN_URI = re.compile(
    r"https://(?P<region>[a-z0-9-]+)-run\.googleapis\.com/apis/run\.googleapis\.com/v1/"
    r"namespaces/(?P<project>[^/]+)/jobs/(?P<job>[^/:]+):run"
)
# unix-cron: five fields (cloud.google.com/scheduler/docs/configuring/cron-job-schedules)
CRON = re.compile(r"\S+(\s+\S+){4}")


def _project(call: Any) -> str:
    return f"projects/{call.state['project']}"


def job_deploy(call: Any) -> None:
    """`gcloud run jobs deploy` creates the job or updates it to the flags given, and, as for
    a service, `--set-env-vars` and `--set-secrets` replace them all. It runs as its account,
    which the caller must be able to act as (cloud.google.com/run/docs/configuring/jobs/
    service-identity); its image exists; each secret exists, has a version and is readable by
    the job's account (cloud.google.com/run/docs/configuring/jobs/secrets)."""
    state, name = call.state, call.words[0]
    rules.api_enabled(state, "run")
    jobs = state.setdefault("jobs", {})
    verb = "update" if name in jobs else "create"
    require(state, call.caller, _project(call), f"run.jobs.{verb}")
    account = call.flag("service-account")
    rules.exists("service account", state["accounts"], account)
    act_as(state, call.caller, account)
    if call.flag("image") not in state["images"]:
        raise Refused(f"NOT_FOUND: image {call.flag('image')} not found")
    settings = {
        **{k: v for k, v in call.flags.items() if k not in ("project", "set-env-vars")},
        "env": _env_vars(call.flag("set-env-vars", "")),
        "set-secrets": _secrets(call.flag("set-secrets", "")),
    }
    for secret in settings["set-secrets"].values():
        rules.secret_mountable(state, secret.split(":")[0], account)
    jobs[name] = settings


def job_bind(call: Any) -> None:
    """A role on a job: the job exists; the member exists (and has propagated)."""
    rules.api_enabled(call.state, "run")
    name = call.words[0]
    rules.exists("Cloud Run job", call.state.setdefault("jobs", {}), name)
    require(call.state, call.caller, f"jobs/{name}", "run.jobs.setIamPolicy")
    member = call.flag("member")
    rules.member_usable(call.state, member)
    bind(call.state, f"jobs/{name}", member, call.flag("role"))


def scheduler_describe(call: Any) -> Any:
    rules.api_enabled(call.state, "scheduler")
    schedules = call.state.setdefault("schedules", {})
    return rules.exists("Cloud Scheduler job", schedules, call.words[0])


def scheduler_create(call: Any) -> None:
    """A Cloud Scheduler HTTP job (cloud.google.com/scheduler/docs/creating): the Cloud
    Scheduler API enabled (cloud.google.com/scheduler/docs/setup); a unix-cron schedule
    (cloud.google.com/scheduler/docs/configuring/cron-job-schedules); its token account
    exists, and the caller may act as it ("the user creating the job needs the
    iam.serviceAccounts.actAs permission on the service account",
    cloud.google.com/scheduler/docs/http-target-auth). A target on *.googleapis.com takes
    an OAuth token, not an OIDC one (same page). Starting a Cloud Run job: the account holds
    roles/run.invoker on the job (JOBS_ON_SCHEDULE); the model refuses a schedule whose
    account could not start its job, which Google would only report at the first run."""
    state, name = call.state, call.words[0]
    rules.api_enabled(state, "scheduler")
    require(state, call.caller, _project(call), "cloudscheduler.jobs.create")
    schedules = state.setdefault("schedules", {})
    if name in schedules:
        raise Refused(f"ALREADY_EXISTS: Job projects/{state['project']}/jobs/{name} already exists")
    if not CRON.fullmatch(str(call.flag("schedule", ""))):
        raise Refused(f"INVALID_ARGUMENT: schedule [{call.flag('schedule')}] is not unix-cron")
    uri = str(call.flag("uri", ""))
    oauth, oidc = call.flag("oauth-service-account-email"), call.flag("oidc-service-account-email")
    if ".googleapis.com/" in uri and not oauth:
        raise Refused("INVALID_ARGUMENT: a *.googleapis.com target takes an OAuth token")
    account = oauth or oidc
    if not account:
        raise Refused("INVALID_ARGUMENT: an authenticated job names its service account")
    rules.exists("service account", state["accounts"], account)
    act_as(state, call.caller, account)
    _may_start(state, uri, account)
    schedules[name] = {k: v for k, v in call.flags.items() if k != "project"}


def _may_start(state: dict[str, Any], uri: str, account: str) -> None:
    found = RUN_URI.fullmatch(uri)
    if found is None:
        return
    if found["project"] != state["project"]:
        raise Refused(f"INVALID_ARGUMENT: {uri} names another project")
    job = rules.exists("Cloud Run job", state.setdefault("jobs", {}), found["job"])
    if job.get("region") != found["region"]:
        raise Refused(f"NOT_FOUND: job {found['job']} is not in {found['region']}")
    if not has_role(state, member_of(account), f"jobs/{found['job']}", "run.jobs.run"):
        raise Refused(f"PERMISSION_DENIED: {account} cannot run job {found['job']}")


HANDLERS: dict[tuple[str, ...], Any] = {
    ("run", "jobs", "deploy"): job_deploy,
    ("run", "jobs", "add-iam-policy-binding"): job_bind,
    ("scheduler", "jobs", "describe"): scheduler_describe,
    ("scheduler", "jobs", "create", "http"): scheduler_create,
}
