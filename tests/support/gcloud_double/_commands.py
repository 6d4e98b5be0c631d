"""The model's handlers for what the setup plan touches: APIs and agents, accounts and
grants, buckets, repositories, Firestore, secrets, topics and subscriptions, queues and
BigQuery datasets (alert policies, log-based metrics and channels: `_monitoring`). Each
checks the caller's permission, then the documented rules (`_rules`), then changes the
model."""

from __future__ import annotations

from typing import Any

from . import _rules as rules
from ._iam import bind, require
from ._rules import Refused

State = dict[str, Any]


def _project(call: Any) -> str:
    return f"projects/{call.state['project']}"


def services_enable(call: Any) -> None:
    require(call.state, call.caller, _project(call), "serviceusage.services.enable")
    for api in call.words:
        if api not in call.state["apis"]:
            call.state["apis"].append(api)


def identity_create(call: Any) -> dict[str, str]:
    require(call.state, call.caller, _project(call), "serviceusage.services.enable")
    service = call.flag("service")
    if service not in call.state["apis"]:
        raise Refused(f"FAILED_PRECONDITION: {service} is not enabled")
    email = f"service-{call.state['number']}@gcp-sa-{service.split('.')[0]}.iam.gserviceaccount.com"
    if service not in call.state["agents"]:
        call.state["agents"].append(service)
        call.state["internal"]["propagating"].append(email)
    return {"email": email}


def projects_describe(call: Any) -> dict[str, str]:
    return {"projectId": call.state["project"], "projectNumber": call.state["number"]}


def _grant(call: Any, resource: str, permission: str) -> None:
    require(call.state, call.caller, resource, permission)
    member, role = call.flag("member"), call.flag("role")
    if rules.domain_restricted_sharing(call.state, member):
        raise Refused(
            "FAILED_PRECONDITION: One or more users named in the policy do not belong to a "
            "permitted customer."
        )
    rules.member_usable(call.state, member)
    bind(call.state, resource, member, role)


def projects_bind(call: Any) -> None:
    _grant(call, f"projects/{call.words[0]}", "resourcemanager.projects.setIamPolicy")


def account_describe(call: Any) -> dict[str, Any]:
    rules.api_enabled(call.state, "iam")
    return rules.exists("service account", call.state["accounts"], call.words[0])


def account_create(call: Any) -> None:
    rules.api_enabled(call.state, "iam")
    require(call.state, call.caller, _project(call), "iam.serviceAccounts.create")
    rules.account_id(call.words[0])
    email = f"{call.words[0]}@{call.state['project']}.iam.gserviceaccount.com"
    if email in call.state["accounts"]:
        raise Refused(f"ALREADY_EXISTS: Service account {call.words[0]} already exists")
    call.state["accounts"][email] = {"email": email, "displayName": call.flag("display-name", "")}
    call.state["internal"]["propagating"].append(email)


def account_bind(call: Any) -> None:
    rules.exists("service account", call.state["accounts"], call.words[0])
    _grant(call, f"serviceAccounts/{call.words[0]}", "iam.serviceAccounts.setIamPolicy")


def _simple(table: str, kind: str, family: str | None = None) -> tuple[Any, Any, Any]:
    """describe / create / add-iam-policy-binding of a resource kept by name."""

    def describe(call: Any) -> Any:
        if family:
            rules.api_enabled(call.state, family)
        return rules.exists(kind, call.state[table], call.words[0])

    def create(call: Any) -> None:
        if family:
            rules.api_enabled(call.state, family)
        require(call.state, call.caller, _project(call), f"{table}.create")
        name = call.words[0]
        if name in call.state[table]:
            raise Refused(f"ALREADY_EXISTS: {kind} [{name}] already exists")
        call.state[table][name] = {
            "name": name,
            **{k: v for k, v in call.flags.items() if k != "project"},
        }
        if table == "secrets":
            call.state[table][name]["versions"] = 0

    def bind_(call: Any) -> None:
        if family:
            rules.api_enabled(call.state, family)
        rules.exists(kind, call.state[table], call.words[0])
        _grant(call, f"{table}/{call.words[0]}", f"{table}.setIamPolicy")

    return describe, create, bind_


def firestore_describe(call: Any) -> Any:
    rules.api_enabled(call.state, "firestore")
    if call.state["firestore"] is None:
        raise Refused("NOT_FOUND: database (default) does not exist")
    return call.state["firestore"]


def firestore_create(call: Any) -> None:
    rules.api_enabled(call.state, "firestore")
    require(call.state, call.caller, _project(call), "datastore.databases.create")
    if call.state["firestore"] is not None:
        raise Refused("ALREADY_EXISTS: database (default) already exists")
    call.state["firestore"] = {"location": call.flag("location"), "type": call.flag("type")}


def ttl_update(call: Any) -> None:
    firestore_describe(call)
    require(call.state, call.caller, _project(call), "datastore.indexes.update")
    call.state["ttls"][f"{call.flag('collection-group')}.{call.words[0]}"] = bool(
        call.flag("enable-ttl")
    )


def versions_list(call: Any) -> list[dict[str, str]]:
    secret = rules.exists("secret", call.state["secrets"], call.words[0])
    return [
        {"name": f"projects/{call.state['number']}/secrets/{call.words[0]}/versions/{n}"}
        for n in range(secret["versions"], 0, -1)
    ][:1]


def versions_add(call: Any) -> None:
    rules.exists("secret", call.state["secrets"], call.words[0])["versions"] += 1


def topic_create(call: Any) -> None:
    rules.api_enabled(call.state, "pubsub")
    require(call.state, call.caller, _project(call), "pubsub.topics.create")
    if call.words[0] in call.state["topics"]:
        raise Refused("ALREADY_EXISTS: Resource already exists in the project")
    call.state["topics"][call.words[0]] = {"name": call.words[0]}


SUBSCRIPTION_FLAGS = (
    "topic",
    "push-endpoint",
    "push-auth-service-account",
    "push-auth-token-audience",
    "ack-deadline",
    "min-retry-delay",
    "max-retry-delay",
    "expiration-period",
    "message-retention-duration",
    "dead-letter-topic",
    "max-delivery-attempts",
)


def subscription_write(call: Any) -> None:
    rules.api_enabled(call.state, "pubsub")
    name, creating = call.words[0], call.argv[2] == "create"
    table = call.state["subscriptions"]
    if creating:
        require(call.state, call.caller, _project(call), "pubsub.subscriptions.create")
        if name in table:
            raise Refused("ALREADY_EXISTS: Resource already exists in the project")
        rules.exists("topic", call.state["topics"], call.flag("topic"))
        current: dict[str, Any] = {"expiration-period": "31d", "message-retention-duration": "7d"}
    else:
        current = dict(rules.exists("subscription", table, name))
    given = {k: v for k, v in call.flags.items() if k in SUBSCRIPTION_FLAGS}
    attempts = given.get("max-delivery-attempts")
    rules.dead_letter_settings(
        call.state, given.get("dead-letter-topic"), int(attempts) if attempts else None
    )
    rules.retention(given.get("message-retention-duration"))
    account = given.get("push-auth-service-account")
    if account:
        from ._iam import act_as

        act_as(call.state, call.caller, account)
        rules.push_account_can_mint(call.state, account)
    current.update(given)
    table[name] = current


def queue_write(call: Any) -> None:
    rules.api_enabled(call.state, "tasks")
    name, creating = call.words[0], call.argv[2] == "create"
    if creating and name in call.state["queues"]:
        raise Refused("ALREADY_EXISTS: queue already exists")
    current = {} if creating else dict(rules.exists("queue", call.state["queues"], name))
    current.update({k: v for k, v in call.flags.items() if k != "project"})
    call.state["queues"][name] = current


def bq_dataset(call: Any) -> Any:
    action = next(w for w in call.argv if not w.startswith("-"))
    dataset = call.words[-1]
    if "bigquery.googleapis.com" not in call.state["apis"]:
        raise Refused("BigQuery API has not been used in this project before or it is disabled")
    table = call.state["datasets"]
    if action == "show":
        return rules.exists("dataset", table, dataset)
    if action == "mk":
        table[dataset] = {"location": call.flag("location")}
        return None
    rules.exists("dataset", table, dataset)
    _grant(call, f"datasets/{dataset}", "bigquery.datasets.setIamPolicy")
    return None


def storage_agent(call: Any) -> str:
    return f"service-{call.state['number']}@gs-project-accounts.iam.gserviceaccount.com"


def _table(
    name: str, kind: str, family: str | None, prefix: tuple[str, ...]
) -> dict[tuple[str, ...], Any]:
    describe, create, bind_ = _simple(name, kind, family)
    return {
        (*prefix, "describe"): describe,
        (*prefix, "create"): create,
        (*prefix, "add-iam-policy-binding"): bind_,
    }


HANDLERS: dict[tuple[str, ...], Any] = {
    ("services", "enable"): services_enable,
    ("beta", "services", "identity", "create"): identity_create,
    ("projects", "describe"): projects_describe,
    ("projects", "add-iam-policy-binding"): projects_bind,
    ("iam", "service-accounts", "describe"): account_describe,
    ("iam", "service-accounts", "create"): account_create,
    ("iam", "service-accounts", "add-iam-policy-binding"): account_bind,
    **_table("buckets", "bucket", None, ("storage", "buckets")),
    **_table("repositories", "repository", "artifacts", ("artifacts", "repositories")),
    **_table("secrets", "secret", "secrets", ("secrets",)),
    **_table("topics", "topic", "pubsub", ("pubsub", "topics")),
    **_table("subscriptions", "subscription", "pubsub", ("pubsub", "subscriptions")),
    **_table("queues", "queue", "tasks", ("tasks", "queues")),
    ("pubsub", "topics", "create"): topic_create,
    ("pubsub", "subscriptions", "create"): subscription_write,
    ("pubsub", "subscriptions", "update"): subscription_write,
    ("tasks", "queues", "create"): queue_write,
    ("tasks", "queues", "update"): queue_write,
    ("firestore", "databases", "describe"): firestore_describe,
    ("firestore", "databases", "create"): firestore_create,
    ("firestore", "fields", "ttls", "update"): ttl_update,
    ("secrets", "versions", "list"): versions_list,
    ("secrets", "versions", "add"): versions_add,
    ("storage", "service-agent"): storage_agent,
    ("bq", "show"): bq_dataset,
    ("bq", "mk"): bq_dataset,
    ("bq", "add-iam-policy-binding"): bq_dataset,
}
