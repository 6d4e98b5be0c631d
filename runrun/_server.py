"""Serve the dispatcher with granian (the default) or gunicorn, drained on SIGTERM.

Both run pre-forked worker processes; granian with one worker (one CPU) runs it in its
own process instead (`_granian_single`). The master imports the source module and settles
every target before forking (so each module runs once per process tree, and a broken or
ambiguous main.py fails before any worker starts) but never builds a network client:
those are built lazily in each worker, as is each target's Flask app (on the first request
that reaches it, see `_mount`). The source's library, when it binds hooks
(`runrun.hooks`), checks the start in the master before any worker starts; each worker runs
its `worker_started` after the fork (or, in the one-worker process, once the socket is
bound) and its `worker_stopping` after its last request. A source without hooks gets the
servers and its targets, and nothing else.

Threads per worker come from the concurrency setting (Cloud Run sends up to that many
requests at once to an instance), never from os.cpu_count(), which ignores cgroup limits.
On SIGTERM both servers stop accepting, let in-flight requests finish within
`graceful_seconds` (Cloud Run sends SIGKILL 10 s after SIGTERM), and exit 0.
"""

from __future__ import annotations

import functools
import gc
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import _lifecycle
from ._discover import discover
from ._env import SERVERS as SERVERS
from ._errors import ConfigurationError
from ._mount import build_app
from ._timeouts import timeout_from_env

DEFAULT_CONCURRENCY = 80  # Cloud Run's default requests per instance
GRACEFUL_SECONDS = 8.0  # inside Cloud Run's 10 s between SIGTERM and SIGKILL


def available_cpus() -> int:
    """CPUs this process may use: affinity, then the cgroup v2 or v1 CPU quota."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 0
    count = count or os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(count, quota)) if quota else count


def _cgroup_quota() -> int | None:
    try:
        fields = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if fields and fields[0] != "max":
            return math.ceil(int(fields[0]) / int(fields[1]))
        return None
    except (OSError, ValueError, IndexError):
        pass
    try:
        quota = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return math.ceil(quota / period) if quota > 0 and period > 0 else None


@dataclass(frozen=True)
class ServeOptions:
    """How `python -m runrun serve` runs."""

    host: str = "0.0.0.0"
    port: int = 8080
    concurrency: int = DEFAULT_CONCURRENCY
    workers: int = 0  # 0: one per available CPU
    server: str = "granian"
    source: Path | None = None
    graceful_seconds: float = GRACEFUL_SECONDS
    signature_types: tuple[str, ...] = ()  # `--signature-type` values (see `_signatures`)
    targets: tuple[str, ...] = ()  # `--target`: serve only these (none: every target)
    threads_per_worker: int = 0  # functions-framework's THREADS; 0: from concurrency

    @property
    def worker_count(self) -> int:
        # Never more processes than concurrent requests: an idle worker only costs memory.
        return max(1, min(self.workers or available_cpus(), self.concurrency))

    @property
    def threads(self) -> int:
        """Request threads per worker: together the workers take `concurrency` requests."""
        if self.threads_per_worker:
            return self.threads_per_worker
        return max(1, math.ceil(self.concurrency / self.worker_count))


# Loaded in the master before the fork (see the module docstring) and inherited by every
# worker; a worker started with the "spawn" method has none and loads its own.
@functools.lru_cache(maxsize=1)
def _load_app(options: ServeOptions) -> Any:
    discovery = discover(options.source, options.signature_types, options.targets)
    return build_app(discovery, timeout_from_env(options.threads))


def prepare(options: ServeOptions) -> Any:
    """Import the targets, build the dispatcher and check the start in this (master)
    process."""
    # Everything imported and built here lives as long as the process: collecting while it
    # is created finds next to nothing (a few hundred objects of import-time garbage) and
    # costs a noticeable part of a cold start, so the collector waits until it is frozen.
    enabled = gc.isenabled()
    gc.disable()
    try:
        _check_start(options)
        app = _load_app(options)
        # The server's own modules too (granian's bring asyncio): imported with the
        # collector on, its passes over what they create cost a few ms of a cold start.
        _import_server(options)
        # Shared with the forked workers, page by page, until written to; freezing it keeps
        # the collector's passes from writing to (and so copying) those pages in every
        # worker. Frozen without a full collection first: that costs tens of ms at start
        # for a few hundred objects. (A refused start freezes nothing: it only exits.)
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
    return app


def _import_server(options: ServeOptions) -> None:
    if options.server == "gunicorn":
        import gunicorn.app.base  # noqa: F401

        return
    # granian allocates with its own jemalloc, which gives every thread a cache of freed
    # blocks; with a request thread per request in flight (80 at one CPU) those caches hold
    # about 9 MiB of old request buffers per worker after load. Read once, when granian's
    # library first allocates (so before its import); the workers inherit it at the fork.
    os.environ.setdefault("_RJEM_MALLOC_CONF", "tcache:false")
    import granian.constants  # noqa: F401

    if options.worker_count == 1:
        from . import _granian_single  # noqa: F401
    else:
        import granian.server.mp  # noqa: F401


def serve(options: ServeOptions) -> None:
    """Run the chosen server until SIGTERM or SIGINT."""
    prepare(options)
    if options.server == "gunicorn":
        _serve_gunicorn(options)
    else:
        _serve_granian(options)


def _check_start(options: ServeOptions) -> None:
    """Refuse, before any server module is imported or any worker starts: a source with
    nothing to serve, or one whose library's `check` hook refuses."""
    discovery = discover(options.source, options.signature_types, options.targets)
    if not discovery.targets:
        raise ConfigurationError(nothing_to_serve(discovery.source))
    served = [target.name for target in discovery.targets]
    _lifecycle.check(discovery.hooks, served, discovery.defined)


def nothing_to_serve(source: Path) -> str:
    return (
        f"{source} has no target to serve: decorate a function with "
        "@functions_framework.http (or cloud_event, typed), or name an undecorated one with "
        '--target NAME, FUNCTION_TARGET=NAME or `[tool.runrun] targets = ["NAME"]` in the '
        "pyproject.toml beside it"
    )


# --- granian -------------------------------------------------------------------------


class _WorkerApp:
    """granian's target loader: runs in each worker, after the fork."""

    def __init__(self, options: ServeOptions) -> None:
        self.options = options

    def __call__(self) -> Any:
        app = _load_app(self.options)
        _lifecycle.worker_started(app.hooks)
        return app


def _granian_worker(*args: Any, **kwargs: Any) -> None:
    """granian's WSGI worker, then our shutdown once it has drained its connections."""
    from granian.server.mp import MPServer

    from ._granian_wsgi import install

    install()  # in the worker itself: a spawned (not forked) worker starts without it
    try:
        MPServer._spawn_wsgi_worker(*args, **kwargs)
    finally:
        _lifecycle.worker_stopping()


def _quiet_unchosen_threads(record: logging.LogRecord) -> bool:
    """granian warns at every start that more Python threads than twice the CPUs "seems
    quite high": runrun sizes them from the concurrency Cloud Run sends (and caps what runs
    at once with `backpressure`), so the warning stays for a `--threads` the user chose."""
    return not record.getMessage().startswith("Configuration allows spawning up to")


def _serve_granian(options: ServeOptions) -> None:
    _import_server(options)  # done already by `prepare`, with its allocator setting
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces

    threads = options.threads
    settings: dict[str, Any] = {
        "address": options.host,
        "port": options.port,
        "interface": Interfaces.WSGI,
        "http": HTTPModes.http1,  # Cloud Run's front end speaks HTTP/1.1 to the container
        "blocking_threads": threads,
        # At most `threads` requests in flight per worker; more wait in the accept queue
        # or go to a less busy worker instead of queueing behind busy threads.
        "backpressure": threads,
        "log_access": False,
        # A WSGI app takes no websocket: said here, granian does not log that it ignores them.
        "websockets": False,
    }
    kill_timeout = max(1, math.floor(options.graceful_seconds))
    # "runrun" is only shown in the process title: the loader below supplies the app.
    if options.worker_count == 1:
        from ._granian_single import OneWorkerServer, thread_worker

        server: Any = OneWorkerServer("runrun", kill_timeout=kill_timeout, **settings)
        spawn_target: Any = thread_worker
    else:
        server = Granian(
            "runrun",
            workers=options.worker_count,
            workers_kill_timeout=kill_timeout,
            **settings,
        )
        spawn_target = _granian_worker
        if not options.threads_per_worker:
            logging.getLogger("_granian").addFilter(_quiet_unchosen_threads)
    server.serve(spawn_target=spawn_target, target_loader=_WorkerApp(options), wrap_loader=False)


# --- gunicorn ------------------------------------------------------------------------


def _serve_gunicorn(options: ServeOptions) -> None:
    from gunicorn.app.base import BaseApplication

    hooks = _load_app(options).hooks

    class Application(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings: dict[str, Any] = {
                "bind": f"{options.host}:{options.port}",
                "workers": options.worker_count,
                "worker_class": "gthread",
                "threads": options.threads,
                # As functions-framework runs it: no worker timeout (Cloud Run enforces the
                # request timeout) and no request-line limit.
                "timeout": 0,
                "limit_request_line": 0,
                "graceful_timeout": max(1, math.floor(options.graceful_seconds)),
                "keepalive": 5,
                "loglevel": "warning",
                "post_fork": lambda server, worker: _lifecycle.worker_started(hooks),
                "worker_exit": lambda server, worker: _lifecycle.worker_stopping(),
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return _load_app(options)

    Application().run()
