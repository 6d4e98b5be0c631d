"""`ModelProject`: an empty model project (billing on, an Owner, a domain-restricted
sharing organisation policy), and plans run against it as bash scripts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OWNER = "owner@example.com"
BIN = Path(__file__).parent / "bin"
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class RunResult:
    returncode: int
    stdout: str
    stderr: str
    calls: list[dict[str, Any]]

    @property
    def changes(self) -> list[str]:
        return [c["call"] for c in self.calls if c.get("changed")]

    @property
    def refusals(self) -> list[str]:
        return [f"{c['call']}: {c['refused']}" for c in self.calls if "refused" in c]


class ModelProject:
    def __init__(
        self, folder: Path, *, project: str = "acme", number: str = "123456789012"
    ) -> None:
        self.folder = folder
        self.path = folder / "model-project.json"
        state: dict[str, Any] = {
            "project": project,
            "number": number,
            "owner": OWNER,
            "domain_restricted_sharing": True,
            "apis": [],
            "agents": [],
            "accounts": {},
            "iam": {f"projects/{project}": {"roles/owner": [f"user:{OWNER}"]}},
            "buckets": {},
            "repositories": {},
            "images": [],
            "firestore": None,
            "ttls": {},
            "secrets": {},
            "topics": {},
            "subscriptions": {},
            "queues": {},
            "policies": {},
            "log_metrics": {},
            "channels": {},
            "datasets": {},
            "services": {},
            "jobs": {},
            "schedules": {},
            "functions": {},
            "triggers": {},
            "builds": [],
            "log": [],
            "internal": {"propagating": [], "eventarc_ready": False},
        }
        self.path.write_text(json.dumps(state, indent=1))

    @property
    def state(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.path.read_text())
        return loaded

    def edit(self, change: Any) -> None:
        state = self.state
        change(state)
        self.path.write_text(json.dumps(state, indent=1))

    def run(self, script: str, *, account: str = OWNER, cwd: Path | None = None) -> RunResult:
        """Run `script` with bash, the double first on PATH, as `account`."""
        before = len(self.state["log"])
        file = self.folder / "plan.sh"
        file.write_text(script)
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "GCLOUD_DOUBLE_STATE": str(self.path),
            "GCLOUD_DOUBLE_PYTHON": sys.executable,
            "GCLOUD_DOUBLE_SITE": sysconfig.get_paths()["purelib"],  # yaml, under `python -S`
            "PYTHONPATH": str(ROOT),
            "CLOUDSDK_CORE_ACCOUNT": account,
            "RUNRUN_RETRY_DELAY": "0",  # the retries are modelled, not the minute they wait
        }
        done = subprocess.run(
            ["bash", str(file)],
            cwd=cwd or self.folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        return RunResult(done.returncode, done.stdout, done.stderr, self.state["log"][before:])

    def add_secret_versions(self) -> None:
        def add(state: dict[str, Any]) -> None:
            for secret in state["secrets"].values():
                secret["versions"] = max(secret["versions"], 1)

        self.edit(add)

    def roles_of(self, member: str) -> dict[str, list[str]]:
        """resource -> the roles `member` holds there."""
        found: dict[str, list[str]] = {}
        for resource, roles in self.state["iam"].items():
            held = sorted(role for role, members in roles.items() if member in members)
            if held:
                found[resource] = held
        return found
