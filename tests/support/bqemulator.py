"""Start PyPI's BigQuery emulator (bqemulator, DuckDB underneath) on 127.0.0.1, or explain
loudly why it cannot be started.

It lives in a virtualenv of its own, .venv-bqemulator (./dev sets it up from
requirements-bqemulator.txt), because it pins an older protobuf than the project's. DuckDB's
spatial extension is installed from its wheel into that virtualenv's private HOME, so the
emulator downloads nothing when it starts.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
from pathlib import Path

from tests.support.emulators import free_port
from tests.support.helpers import stop_process

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-bqemulator"
PROJECT = "runrun-bq"


class BigQueryEmulator:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.host = ""

    def start(self, timeout: float = 60.0) -> str:
        """Start it; returns its host:port, or raises RuntimeError saying why it cannot."""
        launcher = VENV / "bin" / "bqemulator"
        home = VENV / "home"
        if not os.access(launcher, os.X_OK) or not any(home.glob(".duckdb/extensions/*/*")):
            raise RuntimeError(
                f"{launcher} or DuckDB's spatial extension in {home} is missing "
                "(./dev setup installs them from requirements-bqemulator.txt)"
            )
        rest, grpc = free_port(), free_port()
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home)}
        with open(self.log_dir / "bqemulator.log", "wb") as log:
            self.process = subprocess.Popen(
                [str(launcher), "start", "--rest-host=127.0.0.1", f"--rest-port={rest}"]
                + ["--grpc-host=127.0.0.1", f"--grpc-port={grpc}", f"--project={PROJECT}"]
                + ["--ephemeral", "--log-level=warning"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.host = f"127.0.0.1:{rest}"
        self._wait_ready(timeout)
        return self.host

    def _wait_ready(self, timeout: float) -> None:
        import time

        assert self.process is not None
        deadline = time.monotonic() + timeout
        url = f"http://{self.host}/bigquery/v2/projects/{PROJECT}/datasets"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"bqemulator exited with {self.process.returncode} "
                    f"(see {self.log_dir / 'bqemulator.log'})"
                )
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"bqemulator not ready after {timeout} s")

    def stop(self) -> None:
        stop_process(self.process)
