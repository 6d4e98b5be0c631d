"""`runrun serve --reload`: the server restarted whenever a source file changes.

watchfiles runs `runrun serve` (the same arguments, without --reload) as a child process and
watches the source's folder: on a change to a Python file, a pyproject.toml or a .env file it
stops the child with SIGINT (the server drains and runs each worker's stop hook, as at
SIGTERM) and starts a new one, which imports the changed source afresh: async targets and a
library's hooks included. Never in production: with K_SERVICE set (Cloud Run) the flag is
ignored, loudly, and the server runs as it would without it.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import _envfile
from ._env import FrameworkEnv, function_source
from ._server import GRACEFUL_SECONDS

WATCHED_SUFFIXES = (".toml", ".env")


def _without_reload(argv: Sequence[str]) -> list[str]:
    return [arg for arg in argv if arg != "--reload"]


def _source_folder(source: str | None) -> Path:
    return Path(os.path.realpath(source or function_source())).parent


def serve_reloading(
    argv: Sequence[str], source: str | None, run_here: Callable[[list[str]], int]
) -> int:
    """Run the server with `argv` (a `serve` command line, whose `--source` is `source`)
    under watchfiles until stopped. `run_here` runs a command line in this process (the
    CLI's entry point, passed in so that the CLI and this module import in one direction)."""
    child = [sys.executable, "-m", "runrun", *_without_reload(argv)]
    if FrameworkEnv.from_env().service:
        print(
            "runrun: --reload ignored: K_SERVICE is set, so this is Cloud Run, where a "
            "source never changes under a running server",
            file=sys.stderr,
            flush=True,
        )
        return run_here(child[3:])
    from watchfiles import PythonFilter, run_process

    folder = _source_folder(source)
    if _envfile.environment_before is not None:
        # Each new server reads the .env file as it is then, under the real environment.
        os.environ.clear()
        os.environ.update(_envfile.environment_before)
    print(f"runrun: --reload: watching {folder}", file=sys.stderr, flush=True)
    run_process(
        folder,
        target=shlex.join(child),
        target_type="command",
        watch_filter=PythonFilter(extra_extensions=WATCHED_SUFFIXES),
        sigint_timeout=int(GRACEFUL_SECONDS) + 2,
        callback=lambda changes: print(
            f"runrun: --reload: {len(changes)} change(s): restarting", file=sys.stderr, flush=True
        ),
    )
    return 0
