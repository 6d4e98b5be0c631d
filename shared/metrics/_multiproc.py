"""The directory prometheus-client's multiprocess mode shares between runrun's workers.

In multiprocess mode every process writes its counts to memory-mapped files of its own in
PROMETHEUS_MULTIPROC_DIR, and a scrape adds them up; the variable must be set before
prometheus_client is imported (it picks its value class at import), and the directory must
be empty when the server starts, or counts of an earlier run are added in
(prometheus.github.io/client_python/multiprocess/). So the serving process makes one
directory per serving process tree, `<state dir>/metrics/<its pid>`, empties it, and names
it in the environment its workers inherit, before any worker starts and before anything
imports prometheus_client. Directories that processes no longer running left behind are
removed at the same time; those of a server still running beside this one are kept.

Counts of a worker that exits stay in its files: a total never goes down when a worker is
replaced. (No gauge is kept in these files: the queue's are read when scraped.)
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_directory(state_dir: Path) -> Path:
    """Make this process tree's directory, empty, and name it in the environment."""
    root = state_dir / "metrics"
    own = root / str(os.getpid())
    root.mkdir(parents=True, exist_ok=True)
    for entry in root.iterdir():
        if entry == own or (entry.name.isdigit() and not _running(int(entry.name))):
            shutil.rmtree(entry, ignore_errors=True)
    own.mkdir()
    os.environ[ENV] = str(own)
    return own


def shared_directory() -> str | None:
    """The directory this process's workers write to, when the server made one."""
    return os.environ.get(ENV) or None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: running
        return True
    with contextlib.suppress(OSError):
        # A zombie is no longer running, though it still has a pid.
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True
