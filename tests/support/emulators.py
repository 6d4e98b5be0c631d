"""Start the real Firestore and Pub/Sub emulators (once per test session) from the Google
Cloud SDK on this machine, or explain loudly why they cannot be started."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.helpers import free_port as free_port


@dataclass(frozen=True)
class Emulators:
    firestore_host: str
    pubsub_host: str


def sdk_root() -> Path | None:
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        return None
    return Path(os.path.realpath(gcloud)).parent.parent


def commands() -> tuple[list[str], list[str]] | str:
    """The two launch commands (without --host/--port), or why they are unavailable."""
    root = sdk_root()
    if root is None:
        return "the Google Cloud SDK (gcloud) is not installed on this machine"
    firestore = root / "platform/cloud-firestore-emulator/cloud_firestore_emulator"
    pubsub = root / "platform/pubsub-emulator/bin/cloud-pubsub-emulator"
    missing = [str(p) for p in (firestore, pubsub) if not os.access(p, os.X_OK)]
    if missing:
        return f"emulator launchers missing: {', '.join(missing)}"
    if shutil.which("java") is None:
        return "the emulators need Java, and `java` is not on PATH"
    return [str(firestore), "start"], [str(pubsub)]


def _wait_ready(host: str, process: subprocess.Popen[bytes], name: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} emulator exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://{host}/", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{name} emulator not ready after {timeout} s")


class EmulatorProcesses:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> Emulators:
        found = commands()
        if isinstance(found, str):
            raise RuntimeError(found)
        firestore_cmd, pubsub_cmd = found
        hosts = []
        for name, cmd in (("firestore", firestore_cmd), ("pubsub", pubsub_cmd)):
            port = free_port()
            # The child keeps its own copy of the descriptor: ours is closed at once (an
            # unclosed file is a ResourceWarning, which this suite turns into an error).
            with open(self.log_dir / f"{name}-emulator.log", "wb") as log:
                process = subprocess.Popen(
                    [*cmd, "--host=127.0.0.1", f"--port={port}"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # the launchers fork a JVM: stop the whole group
                )
            self.processes.append(process)
            hosts.append((name, f"127.0.0.1:{port}", process))
        for name, host, process in hosts:
            _wait_ready(host, process, name, timeout=60)
        return Emulators(firestore_host=hosts[0][1], pubsub_host=hosts[1][1])

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
