"""The model's handlers for what deploys: Cloud Run services, Cloud Functions, Eventarc
triggers and Cloud Build builds (whose steps run here, as the build's account)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import _rules as rules
from ._iam import act_as, bind, has_role, require
from ._rules import Refused


def _project(call: Any) -> str:
    return f"projects/{call.state['project']}"


def _env_vars(value: str) -> dict[str, str]:
    """`--set-env-vars`, with gcloud's `^D^` delimiter syntax."""
    delimiter = ","
    if value.startswith("^"):
        delimiter, value = value[1], value[3:]
    return dict(item.split("=", 1) for item in value.split(delimiter) if item)


def _secrets(value: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in value.split(",") if item)


def _settings(call: Any, current: dict[str, Any]) -> dict[str, Any]:
    """A service's settings after a deploy: `--set-env-vars` and `--set-secrets` replace
    every variable and secret
    (cloud.google.com/run/docs/configuring/services/environment-variables), other flags
    change only what they name."""
    found = dict(current)
    for flag in (
        "image",
        "service-account",
        "concurrency",
        "min-instances",
        "max-instances",
        "memory",
        "timeout",
    ):
        if call.flag(flag) is not None:
            found[flag] = call.flag(flag)
    if call.flag("cpu-boost") or call.flag("no-cpu-boost"):
        found["cpu-boost"] = bool(call.flag("cpu-boost"))
    found["env"] = _env_vars(call.flag("set-env-vars", "")) if call.flag("set-env-vars") else {}
    found["secrets"] = _secrets(call.flag("set-secrets", "")) if call.flag("set-secrets") else {}
    return found


def run_deploy(call: Any) -> None:
    state, name = call.state, call.words[0]
    rules.api_enabled(state, "run")
    exists = name in state["services"]
    require(
        state,
        call.caller,
        _project(call),
        "run.services.update" if exists else "run.services.create",
    )
    account = call.flag("service-account")
    act_as(state, call.caller, account)
    image = call.flag("image")
    if image not in state["images"]:
        raise Refused(f"NOT_FOUND: image {image} not found")
    settings = _settings(call, state["services"].get(name, {"invoker-iam-check": True}))
    for secret in settings["secrets"].values():
        rules.secret_mountable(state, secret.split(":")[0], account)
    region = call.flag("region")
    settings["url"] = f"https://{name}-{state['number']}.{region}.run.app"
    if call.flag("no-invoker-iam-check"):
        require(state, call.caller, f"services/{name}", "run.services.setIamPolicy")
        settings["invoker-iam-check"] = False
    state["services"][name] = settings
    if call.flag("allow-unauthenticated") and not rules.domain_restricted_sharing(
        state, "allUsers"
    ):
        bind(state, f"services/{name}", "allUsers", "roles/run.invoker")


def run_describe(call: Any) -> dict[str, Any]:
    """A service has two URLs, the deterministic one and the one `status.url` reports
    (cloud.google.com/run/docs/triggering/https-request)."""
    rules.api_enabled(call.state, "run")
    service = rules.exists("Cloud Run service", call.state["services"], call.words[0])
    spec = {"template": {"spec": {"containers": [{"image": service.get("image", "")}]}}}
    url = f"https://{call.words[0]}-a1b2c3d4e5-ew.a.run.app"
    return {**service, "spec": spec, "status": {"url": url}}


def run_update(call: Any) -> None:
    rules.api_enabled(call.state, "run")
    service = rules.exists("Cloud Run service", call.state["services"], call.words[0])
    require(call.state, call.caller, f"services/{call.words[0]}", "run.services.update")
    if call.flag("no-invoker-iam-check"):
        # Turning the invoker check off needs setIamPolicy
        # (cloud.google.com/run/docs/authenticating/public).
        require(call.state, call.caller, f"services/{call.words[0]}", "run.services.setIamPolicy")
        service["invoker-iam-check"] = False


def functions_deploy(call: Any) -> None:
    state, name = call.state, call.words[0]
    rules.api_enabled(state, "functions")
    exists = name in state["functions"]
    require(
        state,
        call.caller,
        _project(call),
        "cloudfunctions.functions.update" if exists else "cloudfunctions.functions.create",
    )
    build = rules.build_identity(state, call.flag("build-service-account"), "Build failed")
    act_as(state, call.caller, build)
    for permission, resource in (
        ("logging.logEntries.create", _project(call)),
        ("artifactregistry.repositories.uploadArtifacts", _project(call)),
        ("storage.objects.get", _project(call)),
    ):  # the function's own build (cloud.google.com/functions/docs/securing/build-custom-sa)
        if not has_role(state, f"serviceAccount:{build}", resource, permission):
            raise Refused(f"Build failed: {build} lacks {permission}")
    account = call.flag("service-account")
    act_as(state, call.caller, account)
    settings = _settings(call, state["functions"].get(name, {}))
    for secret in settings["secrets"].values():
        rules.secret_mountable(state, secret.split(":")[0], account)
    service = name.replace("_", "-").lower()
    state["services"].setdefault(
        service,
        {
            "invoker-iam-check": True,
            "url": f"https://{service}-{state['number']}.{call.flag('region')}.run.app",
        },
    )
    settings["serviceConfig"] = {
        "service": f"projects/{state['project']}/locations/{call.flag('region')}/services/{service}"
    }
    if not call.flag("trigger-http"):
        settings["eventTrigger"] = _function_trigger(call, service)
    state["functions"][name] = settings
    if call.flag("allow-unauthenticated"):
        if rules.domain_restricted_sharing(state, "allUsers"):
            raise Refused(
                "the function was deployed, but setting its IAM policy failed: allUsers is not "
                "a permitted member"
            )
        bind(state, f"services/{service}", "allUsers", "roles/run.invoker")


def _function_trigger(call: Any, service: str) -> dict[str, Any]:
    """The Eventarc trigger (and its subscription) Cloud Functions makes for an event
    function, running as the trigger's account, which the deployer must act as."""
    state = call.state
    act_as(state, call.caller, call.flag("trigger-service-account"))
    trigger = f"{service}-trigger"
    where = f"projects/{state['project']}/locations/{call.flag('region')}"
    subscription = f"eventarc-{call.flag('region')}-{trigger}-sub-000"
    path = f"projects/{state['project']}/subscriptions/{subscription}"
    state["triggers"].setdefault(trigger, {"transport": {"pubsub": {"subscription": path}}})
    state["subscriptions"].setdefault(
        subscription, {"expiration-period": "31d", "message-retention-duration": "7d"}
    )
    return {"trigger": f"{where}/triggers/{trigger}", "retry": bool(call.flag("retry"))}


def functions_describe(call: Any) -> dict[str, Any]:
    rules.api_enabled(call.state, "functions")
    return rules.exists("function", call.state["functions"], call.words[0])


def functions_invoker(call: Any) -> None:
    function = functions_describe(call)
    service = function["serviceConfig"]["service"].rsplit("/", 1)[-1]
    require(call.state, call.caller, f"services/{service}", "run.services.setIamPolicy")
    rules.member_usable(call.state, call.flag("member"))
    bind(call.state, f"services/{service}", call.flag("member"), "roles/run.invoker")


def trigger_describe(call: Any) -> dict[str, Any]:
    rules.api_enabled(call.state, "eventarc")
    return rules.exists("trigger", call.state["triggers"], call.words[0])


def trigger_create(call: Any) -> None:
    state, name = call.state, call.words[0]
    rules.api_enabled(state, "eventarc")
    require(state, call.caller, _project(call), "eventarc.triggers.create")
    rules.eventarc_id(name)
    rules.eventarc_destination(state, call.flag("destination-run-service"))
    act_as(state, call.caller, call.flag("service-account"))
    rules.eventarc_agent_ready(state)
    subscription = f"eventarc-{call.flag('location')}-{name}-sub-000"
    state["triggers"][name] = {
        "destination": {
            "service": call.flag("destination-run-service"),
            "path": call.flag("destination-run-path"),
        },
        "eventFilters": sorted(call.flag("event-filters", [])),
        "serviceAccount": call.flag("service-account"),
        "transport": {
            "pubsub": {"subscription": f"projects/{state['project']}/subscriptions/{subscription}"}
        },
    }
    state["subscriptions"][subscription] = {
        "expiration-period": "31d",
        "message-retention-duration": "7d",
    }


class Steps:
    """A build's steps, run once the model is saved and unlocked (they call the double)."""

    def __init__(self, steps: list[dict[str, Any]], account: str, values: dict[str, str]) -> None:
        self.steps, self.account, self.values = steps, account, values

    def run(self) -> int:
        from ._build import run_steps

        return run_steps(self)


def builds_submit(call: Any) -> Steps:
    import sys

    sys.path.append(os.environ["GCLOUD_DOUBLE_SITE"])  # the double runs as `python -S`
    import yaml

    state = call.state
    rules.api_enabled(state, "builds")
    require(state, call.caller, _project(call), "cloudbuild.builds.create")
    config = yaml.safe_load(Path(call.flag("config", "cloudbuild.yaml")).read_text())
    account = rules.build_identity(state, call.flag("service-account"), "ERROR: build failed")
    act_as(state, call.caller, account)
    rules.build_logging(config.get("options", {}))
    bucket = f"{state['project']}_cloudbuild"
    rules.exists("bucket", state["buckets"], f"gs://{bucket}")
    # The submitter uploads the source there (cloud.google.com/build/docs/iam-roles-permissions).
    require(state, call.caller, f"buckets/gs://{bucket}", "storage.objects.create")
    for permission, resource in (
        ("storage.objects.get", f"buckets/gs://{bucket}"),
        ("logging.logEntries.create", _project(call)),
    ):
        if not has_role(state, f"serviceAccount:{account}", resource, permission):
            raise Refused(f"build failed: {account} does not have {permission} access")
    values = {**config.get("substitutions", {})}
    for pair in filter(None, str(call.flag("substitutions", "")).split(",")):
        key, _, value = pair.partition("=")
        values[key] = value
    values.update(
        PROJECT_ID=state["project"],
        PROJECT_NUMBER=state["number"],
        BUILD_ID=f"build-{len(state['builds']) + 1}",
        LOCATION="global",
    )
    state["builds"].append({"account": account, "substitutions": values})
    return Steps(config["steps"], account, values)


def image_push(state: dict[str, Any], account: str, image: str) -> None:
    """A pushed image needs its repository and artifactregistry.writer on it."""
    repository = image.split("/")[2]
    rules.exists("repository", state["repositories"], repository)
    require(
        state,
        account,
        f"repositories/{repository}",
        "artifactregistry.repositories.uploadArtifacts",
    )
    if image not in state["images"]:
        state["images"].append(image)


HANDLERS: dict[tuple[str, ...], Any] = {
    ("run", "deploy"): run_deploy,
    ("run", "services", "describe"): run_describe,
    ("run", "services", "update"): run_update,
    ("functions", "deploy"): functions_deploy,
    ("functions", "describe"): functions_describe,
    ("functions", "add-invoker-policy-binding"): functions_invoker,
    ("eventarc", "triggers", "describe"): trigger_describe,
    ("eventarc", "triggers", "create"): trigger_create,
    ("builds", "submit"): builds_submit,
}
