"""Importing the library, the functions or main.py starts nothing: no thread, no file, no
change to logging. Start-up work (logging, settings, warm-up, registration) belongs to an
explicit start hook: runrun's (the bundle's `check` and `worker_started`), or under plain
functions-framework each worker's first request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = r"""
import importlib, logging, os, pkgutil, threading

def handlers():
    # The root logger and ours (libraries may give their own loggers a NullHandler): their
    # handlers, levels and propagation, as configure_logging() would change them.
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] == "runrun"]
    loggers = [logging.getLogger(), logging.getLogger("runrun")]
    loggers += [logging.getLogger(n) for n in names]
    return {
        (lg.name, tuple(id(h) for h in lg.handlers), lg.level, lg.propagate)
        for lg in loggers
        if lg.handlers or lg.level or not lg.propagate or lg.name in ("root", "runrun")
    }


before_threads, before_handlers = threading.active_count(), handlers()
before_files = set(os.listdir("."))
import shared
# A `__main__` module is a command: running it is what importing it is for.
names = [
    m.name
    for m in pkgutil.walk_packages(shared.__path__, "shared.")
    if not m.name.endswith(".__main__")
]
for name in names:
    importlib.import_module(name)
import shared.processors
shared.processors.shipped()  # building the list imports each processor package
# The functions and main.py as functions-framework imports them (every target module).
for name in ["functions", *(m.name for m in pkgutil.walk_packages(
    importlib.import_module("functions").__path__, "functions."
))]:
    importlib.import_module(name)
    names.append(name)
import main
names.append("main")
assert threading.active_count() == before_threads, threading.enumerate()
assert handlers() == before_handlers, handlers() - before_handlers
assert set(os.listdir(".")) == before_files, set(os.listdir(".")) ^ before_files
print("imported", len(names), "modules")
"""


def test_importing_shared_functions_and_main_starts_nothing(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCENARIO],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("imported ")
