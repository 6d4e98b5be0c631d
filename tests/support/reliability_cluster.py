"""Several `python -m runrun serve` instances on the emulators behind a real round-robin
nginx, as Cloud Run scales out, and what the reliability tests do to them: replace one in
turn (SIGTERM, then a fresh instance on the same port, as a rollout does), SIGKILL one, and
read the runs every instance logged. Holds no tests itself.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.balancer import Balancer, nginx_or_skip, round_robin
from tests.support.emulators import Emulators
from tests.support.pubsub_util import PROJECT, warm_up
from tests.support.reliability_kit import (
    MAIN,
    Answer,
    Sink,
    Topics,
    kill_tree,
    log_lines,
    server_env,
    sink_server,
    start_server,
)
from tests.support.runrun_scenarios.processes import Server

INSTANCES = 3
# Cloud Run sends SIGKILL 10 s after SIGTERM: an instance still running then has failed.
SIGTERM_GRACE_SECONDS = 10


@dataclass
class Cluster:
    servers: list[Server]  # the instances serving now, one per balancer slot
    balancer: Balancer
    deliveries_topic: Topics
    commands_topic: Topics
    sink: Sink
    envs: list[dict[str, str]]
    homes: list[Path]
    killed: list[Server] = field(default_factory=list)
    retired: list[Server] = field(default_factory=list)  # replaced by a rollout
    generation: int = 0

    @property
    def every_server(self) -> list[Server]:
        """Every instance that ever served."""
        return [*self.retired, *self.killed, *[s for s in self.servers if s not in self.killed]]

    def replace(self, slot: int) -> float:
        """Roll one instance: SIGTERM, wait for its exit (at most Cloud Run's grace), then
        a fresh instance on the same port; the seconds from SIGTERM to its exit."""
        old = self.servers[slot]
        assert old.process is not None
        signalled = time.monotonic()
        old.process.send_signal(signal.SIGTERM)
        try:
            status = old.process.wait(SIGTERM_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            old.stop(signal.SIGKILL)
            raise AssertionError(
                f"{old.name} still ran {SIGTERM_GRACE_SECONDS} s after SIGTERM"
            ) from None
        exited = time.monotonic() - signalled
        assert status == 0, old.output()
        old.stop()  # any worker left behind
        self.retired.append(old)
        self.generation += 1
        self.servers[slot] = start_on_port(
            self.homes[slot], self.envs[slot], old.port, f"instance-{slot}-{self.generation}"
        )
        return exited

    def kill(self, slot: int) -> float:
        """SIGKILL one instance and all its processes at once, as the platform kills a
        container (out of memory); the wall-clock time of the kill."""
        victim = self.servers[slot]
        assert victim.process is not None
        killed_at = time.time()
        kill_tree(victim.process.pid)
        self.killed.append(victim)
        return killed_at

    def respawn(self, slot: int) -> None:
        """A fresh instance on the port of a killed one (the platform replaces it)."""
        old = self.servers[slot]
        assert old in self.killed and old.process is not None
        assert old.process.wait(30) is not None
        self.generation += 1
        self.servers[slot] = start_on_port(
            self.homes[slot], self.envs[slot], old.port, f"instance-{slot}-{self.generation}"
        )


def start_on_port(folder: Path, env: dict[str, str], port: int, name: str) -> Server:
    """`runrun serve` with one worker on a given port (a fresh instance in an old slot)."""
    argv = [sys.executable, "-m", "runrun", "serve", "--source", str(MAIN), "--host", "127.0.0.1"]
    argv += ["--server", "granian", "--workers", "1", "--concurrency", "80"]
    server = Server(name, argv, {**env, "PORT": str(port)}, folder).start()
    try:
        return server.wait_ready("/_runrun/health")
    except BaseException:
        server.stop(signal.SIGKILL)
        raise


@contextmanager
def cluster(
    folder: Path,
    emulators: Emulators,
    *,
    mark_down: bool = True,
    pass_on_posts: bool = False,
    hold_seconds: float = 0.0,
    **extra: str,
) -> Iterator[Cluster]:
    """Three instances on the emulators (each with its own state folder, as containers
    have), one processor sink (holding each run `hold_seconds`), and nginx in front of
    them (`mark_down`, `pass_on_posts`: see `round_robin`)."""
    nginx_or_skip()  # before anything starts: one loud reason where nginx is missing
    warm_up(emulators)
    suffix = uuid.uuid4().hex[:10]
    deliveries_topic = Topics(suffix)
    commands_topic = Topics(suffix, topic=f"commands-{suffix}")
    servers: list[Server] = []
    envs: list[dict[str, str]] = []
    homes: list[Path] = []
    group: Cluster | None = None
    with sink_server(hold_seconds=hold_seconds) as sink:
        try:
            for index in range(INSTANCES):
                home = folder / f"instance-{index}"
                # deploy-staging publishes its command on a topic here, where it is counted.
                env = server_env(
                    home, emulators, suffix, sink.url, RUNRUN_DEPLOY_VIA="topic", **extra
                )
                envs.append(env)
                homes.append(home)
                servers.append(start_server(home, env, name=f"instance-{index}", workers=1))
            ports = [s.port for s in servers]
            with round_robin(
                ports, folder / "nginx", mark_down=mark_down, pass_on_posts=pass_on_posts
            ) as balancer:
                group = Cluster(
                    servers, balancer, deliveries_topic, commands_topic, sink, envs, homes
                )
                yield group
        finally:
            for server in group.every_server if group is not None else servers:
                server.stop()
            deliveries_topic.close()
            commands_topic.close()


def kinds(answers: list[Answer]) -> Counter[str]:
    """Answers by kind: 200 accepted / replayed, a status (+ Retry-After), or no answer."""
    found: Counter[str] = Counter()
    for answer in answers:
        if answer.status == 200:
            found["200 replayed" if answer.replayed else "200 accepted"] += 1
        elif answer.status == 0:
            found[f"no answer ({answer.error})"] += 1
        else:
            found[str(answer.status) + (" + Retry-After" if answer.retry_after else "")] += 1
    return found


def logged_runs(
    servers: list[Server], processor: str, message: str = "processor ran"
) -> Counter[str]:
    """Lines `message` of `processor` per delivery id, from every instance's log."""
    runs: Counter[str] = Counter()
    for server in servers:
        for line in log_lines(server):
            if line.get("message") == message and line.get("processor") == processor:
                runs[str(line.get("delivery_id"))] += 1
    return runs


def firestore_documents(group: Cluster, collection_setting: str) -> dict[str, dict[str, Any]]:
    """Every document of the collection the instances' setting names (on the emulator):
    id -> fields."""
    from google.cloud import firestore

    client = firestore.Client(project=PROJECT)
    try:
        collection = client.collection(group.envs[0][collection_setting])
        return {doc.id: doc.to_dict() or {} for doc in collection.stream(timeout=60)}
    finally:
        client.close()


def run_lines(server: Server) -> list[dict[str, Any]]:
    """The processor runs' lines of one instance's log: started, ran, failed, lost..."""
    return [line for line in log_lines(server) if "processor" in line]
