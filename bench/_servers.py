"""Start a server process, wait until it answers, measure its process tree, stop it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.helpers import free_port as free_port

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class ServerSpec:
    """How to start one server under test."""

    name: str
    argv: list[str]
    path: str  # where the target answers
    cwd: Path = ROOT
    probe: str = ""  # a GET that answers 2xx-4xx once the app is loaded
    env: dict[str, str] = field(default_factory=dict)
    cpus: str = ""  # e.g. "0": run pinned to these CPUs (taskset), as on a 1-vCPU instance


def functions_framework(target: str, cwd: Path = ROOT, asgi: bool = False) -> ServerSpec:
    """`functions-framework --target NAME` (`asgi`: with `--asgi`, its server for async ones)."""
    flags = ["--asgi"] if asgi else []
    return ServerSpec(
        name=f"functions-framework {' '.join(flags + ['--target', target])}",
        argv=[
            str(VENV_BIN / "functions-framework"),
            *flags,
            "--target",
            target,
            "--host",
            "127.0.0.1",
        ],
        path="/",
        cwd=cwd,
        probe="/",
    )


def runrun(
    target: str, cwd: Path = ROOT, extra: list[str] | None = None, label: str = ""
) -> ServerSpec:
    return ServerSpec(
        name="python -m runrun serve" + (f" ({label})" if label else ""),
        argv=[sys.executable, "-m", "runrun", "serve", "--host", "127.0.0.1", *(extra or [])],
        path=f"/{target}",
        cwd=cwd,
        probe=f"/{target}",
        env={"PYTHONPATH": str(ROOT)},
    )


class RunningServer:
    def __init__(self, spec: ServerSpec, env: dict[str, str]) -> None:
        self.spec = spec
        self.port = free_port()
        full_env = {**env, **spec.env, "PORT": str(self.port)}
        argv = (
            [*spec.argv, "--port", str(self.port)]
            if "functions-framework" in spec.argv[0]
            else spec.argv
        )
        if spec.cpus:
            # Affinity is inherited by every worker, and runrun sizes its workers by it.
            argv = ["taskset", "--cpu-list", spec.cpus, *argv]
        self.started = time.perf_counter()
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            argv,
            cwd=spec.cwd,
            env=full_env,
            stdout=self.log,
            stderr=self.log,
            start_new_session=True,
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from process start to the first HTTP answer of the app."""
        return self.wait_answer(lambda: urllib.request.Request(self.base_url + self.spec.probe))

    def wait_answer(
        self,
        request: Callable[[], urllib.request.Request],
        ok_only: bool = False,
        timeout: float = 60.0,
    ) -> float:
        """Seconds from process start to the first answer to `request()`, retried while
        nothing listens; `ok_only`: only a 200 counts (anything else raises), otherwise any
        answer of the app does (a 405 says the target is loaded as well)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.spec.name} exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(request(), timeout=2) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                time.sleep(0.01)
                continue
            elapsed = time.perf_counter() - self.started
            if ok_only and status != 200:
                raise RuntimeError(f"{self.spec.name}: first answer was {status}, not 200")
            return elapsed
        raise RuntimeError(f"{self.spec.name} did not answer within {timeout} s")

    def log_tail(self, size: int = 4000) -> str:
        """The end of the server's output, to explain a failed run."""
        self.log.flush()
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - size))
        return self.log.read().decode(errors="replace")

    def rss_bytes(self) -> int:
        """Resident memory of the server and all its descendants (pages shared after a fork
        are counted once per process, as `ps` would)."""
        return sum(_status_kib(pid, "VmRSS:") for pid in _tree(self.process.pid)) * 1024

    def pss_bytes(self) -> int:
        """Proportional memory of the process tree: each shared page split among its sharers,
        so forked workers are not charged twice for what they share with their master."""
        total = 0
        for pid in _tree(self.process.pid):
            try:
                with open(f"/proc/{pid}/smaps_rollup") as rollup:
                    for line in rollup:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
            except OSError:
                pass
        return total * 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time of the whole process tree so far: each live process's own,
        plus what its children that already exited used (cutime/cstime, once reaped), so
        every CPU second is counted once. Nothing outside the tree (emulators, wrk) counts."""
        ticks = 0
        for pid in _tree(self.process.pid):
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # Fields 14-17 of proc(5) (utime stime cutime cstime); [0] here is field 3.
            ticks += sum(int(value) for value in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, poll: float = 0.25, timeout: float = 15.0) -> None:
        """Until the tree uses under 5% of a CPU over `poll` seconds (at most `timeout`): the
        requests still in flight when wrk stopped, and the queued work behind them (the local
        queue processes each delivery after its 2xx), belong to the run that sent them."""
        deadline = time.monotonic() + timeout
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(poll)
            now = self.cpu_seconds()
            if now - before < 0.05 * poll:
                return
            before = now

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker left behind
        self.log.close()


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0
