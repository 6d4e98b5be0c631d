"""`runrun serve --env-file FILE`: variables from a .env file (python-dotenv's format),
under the real environment: a variable already set keeps its value. Values are never
printed, not even when a line is malformed (python-dotenv skips such a line).

Read before anything else reads the environment (`PORT`, `RUNRUN_*`, the source's own
settings), and remembered: `--reload` runs each new server with the environment as it was
before the file, so that the server reads the file as it is then.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from ._errors import ConfigurationError

# The environment before any --env-file was applied (None: no file was).
environment_before: dict[str, str] | None = None


def env_file_argument(argv: Sequence[str]) -> Path | None:
    """The --env-file given on the command line, if any."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--env-file", type=Path, default=None)
    known, _ = parser.parse_known_args(list(argv))
    path: Path | None = known.env_file
    return path


def load_env_file(argv: Sequence[str]) -> list[str]:
    """Apply the --env-file of `argv` under the environment; the names it set."""
    global environment_before
    path = env_file_argument(argv)
    if path is None:
        return []
    if not path.is_file():
        raise ConfigurationError(f"--env-file {path}: no such file")
    from dotenv import dotenv_values

    try:
        values = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"--env-file {path} cannot be read: {exc}") from None
    environment_before = dict(os.environ)
    applied = []
    for name, value in values.items():
        if value is not None and name not in os.environ:
            os.environ[name] = value
            applied.append(name)
    return applied
