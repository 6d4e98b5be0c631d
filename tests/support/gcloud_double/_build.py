"""A build's steps, run as Cloud Build runs them: substitutions expanded
(`_rules.substitute`), each `bash` step of the Cloud SDK image run for real with the
build's account as the caller, docker's build a no-op and its push checked against the
repository's IAM. The test step (the project's own test suite) is not run here."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._rules import Refused, substitute


def with_state(change: Callable[[dict[str, Any]], None]) -> None:
    path = Path(os.environ["GCLOUD_DOUBLE_STATE"])
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.loads(path.read_text())
        change(state)
        path.write_text(json.dumps(state, indent=1, sort_keys=True))


def run_steps(steps: Any) -> int:
    from ._deploys import image_push

    values: dict[str, str] = steps.values
    for step in steps.steps:
        try:
            name = substitute(step["name"], values)
            args = [substitute(arg, values) for arg in step.get("args", [])]
        except Refused as exc:
            print(f"ERROR: build step {step.get('id')}: {exc}", file=sys.stderr)
            return 1
        if "cloud-sdk" in name and step.get("entrypoint") == "bash":
            env = {**os.environ, "CLOUDSDK_CORE_ACCOUNT": steps.account}
            done = subprocess.run(["bash", *args], env=env, check=False)
            if done.returncode != 0:
                print(
                    f"ERROR: build step {step.get('id')} exited {done.returncode}", file=sys.stderr
                )
                return 1
        elif name == "gcr.io/cloud-builders/docker" and args[:1] == ["push"]:
            try:
                image = args[1]
                with_state(lambda state, image=image: image_push(state, steps.account, image))
            except Refused as exc:
                print(f"ERROR: build step {step.get('id')}: {exc}", file=sys.stderr)
                return 1
    return 0
