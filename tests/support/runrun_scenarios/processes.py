"""Real server processes on 127.0.0.1 for the runrun tests: start, wait, ask, stop."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.helpers import free_port as free_port
from tests.support.runrun_scenarios.corpus import ROOT, Answer, Case, answer

VENV_BIN = Path(sys.executable).parent


def base_env(state_dir: Path, **extra: str) -> dict[str, str]:
    """An explicit environment: nothing leaks in from the test process but PATH and HOME."""
    env = {
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "RUNRUN_STATE_DIR": str(state_dir),
    }
    env.update(extra)
    return env


class Server:
    """One server process; its output goes to a log file shown when something fails."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.port = int(env["PORT"])
        self.log = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, cwd: Path = ROOT) -> Server:
        with self.log.open("wb") as log:
            # A session of its own: whatever happens to the master, its workers can be
            # found and stopped with it (a SIGKILLed granian master leaves them running).
            self.process = subprocess.Popen(
                self.argv,
                cwd=cwd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_ready(self, path: str = "/", timeout: float = 60.0) -> Server:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                status = self.process.returncode
                raise RuntimeError(f"{self.name} exited {status}:\n{self.output()}")
            try:
                self.request("GET", path, timeout=2)
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within {timeout} s:\n{self.output()}")

    def request(
        self,
        method: str,
        path: str,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        timeout: float = 30.0,
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            # One request per connection, with a fixed Host: the answers are compared byte
            # for byte, and some echo the request's headers.
            conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", "localhost")
            conn.putheader("Connection", "close")
            for name, value in headers:
                conn.putheader(name, value)
            if body or method in ("POST", "PUT"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            response = conn.getresponse()
            return answer(response.status, response.getheaders(), response.read())
        finally:
            conn.close()

    def send(self, case: Case, path: str) -> Answer:
        return self.request(case.method, path, case.headers, case.body)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Signal the process and return its exit status (killed if it does not exit)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # any worker left behind
        return self.process.returncode


def functions_framework(
    target: str, source: Path, env: dict[str, str], log_dir: Path, *args: str, cwd: Path = ROOT
) -> Server:
    port = str(free_port())
    argv = [str(VENV_BIN / "functions-framework"), "--target", target, "--source", str(source)]
    argv += ["--host", "127.0.0.1", "--port", port, *args]
    return Server(f"ff-{target}", argv, {**env, "PORT": port}, log_dir).start(cwd)


def runrun(
    name: str, source: Path, env: dict[str, str], log_dir: Path, *args: str, cwd: Path = ROOT
) -> Server:
    port = str(free_port())
    argv = [sys.executable, "-m", "runrun", "serve", "--source", str(source)]
    argv += ["--host", "127.0.0.1", *args]
    return Server(name, argv, {**env, "PORT": port}, log_dir).start(cwd)
