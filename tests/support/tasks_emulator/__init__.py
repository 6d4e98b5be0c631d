"""PyPI's gcloud-tasks-emulator, which really dispatches HTTP tasks, in a virtualenv of its
own (it pins protobuf below 5, the project's clients need 5 or later), started bound to
127.0.0.1 only (by itself it listens on every interface).

The virtualenv lives beside the project's own (`.venv/tasks-emulator`, or
RUNRUN_TASKS_EMULATOR_VENV), so it is built once and kept between test runs; `./dev setup`
builds it too. Where it cannot be built, the tests that need it skip with one loud reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.helpers import free_port, stop_process

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = "gcloud-tasks-emulator==0.6.2"
LAUNCHER = Path(__file__).with_name("launch.py")


def venv_path() -> Path:
    return Path(os.environ.get("RUNRUN_TASKS_EMULATOR_VENV") or ROOT / ".venv" / "tasks-emulator")


def ensure_venv() -> Path:
    """The emulator's python, installing it on first use.

    Raises:
        RuntimeError: why it could not be installed (pip's last lines).
    """
    venv = venv_path()
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.is_file() and stamp.read_text() == PACKAGE and python.exists():
        return python
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", PACKAGE],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            raise RuntimeError(f"could not install {PACKAGE} into {venv}: {tail}")
    stamp.write_text(PACKAGE)
    return python


class TasksEmulator:
    """One emulator process; `host` is its 127.0.0.1:port."""

    def __init__(self, log_dir: Path) -> None:
        self.log_path = log_dir / "tasks-emulator.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.host = ""

    def start(self) -> TasksEmulator:
        python = ensure_venv()
        port = free_port()
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [str(python), str(LAUNCHER), str(port)], stdout=log, stderr=subprocess.STDOUT
            )
        self.host = f"127.0.0.1:{port}"
        self._wait_ready(timeout=60)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import grpc

        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"tasks emulator exited with {self.process.returncode}: "
                    + self.log_path.read_text(errors="replace")[-500:]
                )
            channel = grpc.insecure_channel(self.host)
            try:
                grpc.channel_ready_future(channel).result(timeout=1)
                return
            except grpc.FutureTimeoutError:
                continue
            finally:
                channel.close()
        raise RuntimeError(f"tasks emulator not ready after {timeout} s")

    def stop(self) -> None:
        stop_process(self.process)
