"""Cold start (process start to first answer), a new process's first delivery, and where
import time goes."""

from __future__ import annotations

import hashlib
import hmac
import re
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

from ._load import SECRET
from ._servers import ROOT, RunningServer, ServerSpec

# What the container image compiles at build time (Dockerfile): the project's own code.
PROJECT_CODE = ("main.py", "functions", "shared", "runrun")


def compile_bytecode(root: Path = ROOT) -> None:
    """Compile the project's modules once, as the image does, before the cold rows: with
    PYTHONDONTWRITEBYTECODE set (as in the image) nothing would ever write it, and both
    servers would compile the same sources at every start (about 0.1 s of CPU each)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *PROJECT_CODE],
        cwd=root,
        check=True,
        capture_output=True,
    )


def cold_start_seconds(spec: ServerSpec, env: dict[str, str]) -> float:
    return cold_start(spec, env)[0]


def cold_start(spec: ServerSpec, env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds from exec to the first 200 of the target, and the CPU seconds the
    server's process tree used until then: on one CPU the second is what the first is made
    of, without the waiting for other processes that a shared machine adds.

    The first request is a signed GitHub `ping`: verified and answered 200 by the target's
    own code (no store, no queue), so neither server can count an answer from its router,
    a 405 or a crash as having started."""
    server = RunningServer(spec, env)
    try:
        wall = server.wait_answer(lambda: _ping(server.base_url + spec.path), ok_only=True)
        return wall, server.cpu_seconds()
    finally:
        server.stop()


def _ping(url: str) -> urllib.request.Request:
    body = b'{"zen": "Keep it logically awesome.", "hook_id": 1}'
    signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + signature,
    }
    return urllib.request.Request(url, data=body, headers=headers, method="POST")


def first_delivery_ms(spec: ServerSpec, env: dict[str, str]) -> float:
    """A freshly started server's first signed delivery, in ms (from the request to the
    answer): what the warm start buys, to set beside the steady-state p50."""
    from ._load import signed_requests

    server = RunningServer(spec, env)
    try:
        server.wait_ready()
        ((headers, body),) = signed_requests(1, 1)
        request = urllib.request.Request(
            server.base_url + spec.path, data=body, headers=headers, method="POST"
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
            if not 200 <= response.status < 300:
                raise RuntimeError(f"first delivery answered {response.status}")
        return (time.perf_counter() - started) * 1000
    finally:
        server.stop()


def slowest_imports(
    env: dict[str, str], top: int = 12, cwd: Path = ROOT
) -> list[tuple[str, float]]:
    """The modules whose import (with what they import) took longest, in ms, for `import main`."""
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import main"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            rows.append((match.group(4), int(match.group(2)) / 1000, len(match.group(3))))
    # Only top-level entries (least indentation among the children of `main`) say what to cut.
    rows.sort(key=lambda row: row[1], reverse=True)
    return [(name, ms) for name, ms, _ in rows[:top]]
