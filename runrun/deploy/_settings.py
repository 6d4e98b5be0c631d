"""Where and how to deploy (`PlanSettings`): the project and region, the service and its
Cloud Run settings, the three service accounts by id, and what the library needs.

Every Cloud Run setting has a default here and in docs/deploy.md: startup CPU boost on (a
cold start answers inside the providers' windows), min instances 0 (1 recommended for
Slack's 3 s), max instances 100 (Cloud Run's default), 512Mi of memory and a 300 s request
timeout (Cloud Run's defaults; Cloud Tasks mode raises it to the tasks' dispatch deadline).
Each is read from `RUNRUN_<NAME>` and overridden by the matching deploy-plan flag.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import RunrunError
from ._needs import DeployNeeds

RUNTIME = "python312"
# Service account ids: 6-30 characters, lowercase letters, digits and dashes, starting
# with a letter (cloud.google.com/iam/docs/service-accounts-create). An email is not an id.
ACCOUNT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


class PlanSettingsError(RunrunError):
    """A deploy setting is missing or malformed."""

    exit_code = 2


@dataclass(frozen=True)
class PlanSettings:
    """Where and how to deploy; values may be shell or Cloud Build substitutions."""

    project: str = "PROJECT_ID"
    region: str = ""  # required: no default, so that no deploy lands in a region by accident
    service: str = "runrun"
    repository: str = "runrun"  # the Artifact Registry repository of the image
    image: str = ""  # default: the project's Artifact Registry in `region`
    # The project number, as the plan knows it: a shell variable the setup sets, or
    # Cloud Build's $PROJECT_NUMBER. The service's URL is derived from it.
    project_number: str = "${PROJECT_NUMBER}"
    concurrency: int = 80
    cpu_boost: bool = True
    min_instances: int = 0
    max_instances: int = 100
    memory: str = "512Mi"
    timeout: int = 300
    secret_version: str = "latest"
    runtime_account: str = "runrun-runtime"  # account ids, not emails
    push_account: str = "runrun-push"
    build_account: str = "runrun-build"
    scheduler_account: str = "runrun-scheduler"  # starts scheduled jobs (made when needed)
    max_delivery_attempts: int = 10  # Pub/Sub allows 5..100; 10 spans about 40 minutes
    alert_channels: tuple[str, ...] = ()  # Cloud Monitoring notification channel names
    pyproject: Path | None = None  # the [tool.runrun.triggers] file; default: beside the source
    needs: DeployNeeds = field(default_factory=DeployNeeds)

    def __post_init__(self) -> None:
        if not self.region:
            raise PlanSettingsError(
                "the region is required (--region or RUNRUN_REGION): the service, its "
                "queue and its image must all be in the region the providers call"
            )
        for name in ("runtime_account", "push_account", "build_account", "scheduler_account"):
            value = getattr(self, name)
            if not ACCOUNT_ID.fullmatch(value):
                raise PlanSettingsError(
                    f"{name} must be a service account id (6-30 lowercase letters, digits "
                    f"and dashes, starting with a letter), got {value!r}"
                )
        if not 5 <= self.max_delivery_attempts <= 100:
            raise PlanSettingsError("max_delivery_attempts must be 5..100 (Pub/Sub's range)")
        if not self.image:
            image = f"{self.region}-docker.pkg.dev/{self.project}/{self.repository}/runrun:latest"
            object.__setattr__(self, "image", image)

    def email(self, account_id: str) -> str:
        return f"{account_id}@{self.project}.iam.gserviceaccount.com"

    @property
    def runtime_email(self) -> str:
        return self.email(self.runtime_account)

    @property
    def push_email(self) -> str:
        return self.email(self.push_account)

    @property
    def build_email(self) -> str:
        return self.email(self.build_account)

    @property
    def scheduler_email(self) -> str:
        return self.email(self.scheduler_account)

    @property
    def url(self) -> str:
        """The service's deterministic URL, known before it is deployed
        (cloud.google.com/run/docs/triggering/https-request#deterministic)."""
        return f"https://{self.service}-{self.project_number}.{self.region}.run.app"

    @property
    def push_audience(self) -> str:
        """The audience of the push subscriptions' and the tasks' OIDC tokens."""
        return f"{self.service}-push"

    @classmethod
    def from_env(cls, **overrides: Any) -> PlanSettings:
        """Settings from RUNRUN_* variables, then the flags given (`overrides`)."""
        env = os.environ
        values: dict[str, Any] = {
            "project": env.get("GOOGLE_CLOUD_PROJECT") or "PROJECT_ID",
            "region": env.get("RUNRUN_REGION", ""),
        }
        for name, kind in _ENV_FIELDS.items():
            raw = env.get(f"RUNRUN_{name.upper()}", "").strip()
            if raw:
                values[name] = _parse(name, raw, kind)
        values.update({k: v for k, v in overrides.items() if v not in (None, "")})
        return cls(**values)


_ENV_FIELDS: dict[str, type] = {
    "service": str,
    "concurrency": int,
    "cpu_boost": bool,
    "min_instances": int,
    "max_instances": int,
    "memory": str,
    "timeout": int,
    "secret_version": str,
    "alert_channels": tuple,
}


def _parse(name: str, raw: str, kind: type) -> Any:
    if kind is bool:
        if raw.lower() not in ("0", "1", "true", "false"):
            raise PlanSettingsError(f"RUNRUN_{name.upper()} must be 0/1/true/false, got {raw!r}")
        return raw.lower() in ("1", "true")
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise PlanSettingsError(f"RUNRUN_{name.upper()} must be an integer") from None
    if kind is tuple:
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw
