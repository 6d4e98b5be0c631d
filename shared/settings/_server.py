"""The serving process's own block: which project it serves, whether it runs on Cloud Run,
where its state lives, which processors it runs, and what a busy backend's 503 asks the
sender to wait."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from shared.settings._env import env_int, env_text


@dataclass(frozen=True)
class ServerSettings:
    project: str | None  # GOOGLE_CLOUD_PROJECT, else GCP_PROJECT
    on_cloud_run: bool  # K_SERVICE set: "on Cloud Run" is decided here and nowhere else
    state_dir: Path  # RUNRUN_STATE_DIR: the embedded SQLite files, dev secrets, activity
    # RUNRUN_PROCESSORS: "module:attribute" of the ProcessorRegistry that the process
    # target and the local queue run.
    processors: str
    retry_after_seconds: int  # RUNRUN_RETRY_AFTER_SECONDS
    # RUNRUN_BATCH_SIZES_DIR: where a worker writes the batch sizes it saw at shutdown (the
    # benchmark reads them).
    batch_sizes_dir: str | None

    @classmethod
    def from_env(cls) -> ServerSettings:
        env = os.environ
        return cls(
            project=env.get("GOOGLE_CLOUD_PROJECT") or env.get("GCP_PROJECT") or None,
            on_cloud_run=bool(env_text("K_SERVICE")),
            state_dir=Path(env.get("RUNRUN_STATE_DIR") or ".runrun"),
            processors=env_text("RUNRUN_PROCESSORS") or "functions.processors:registry",
            retry_after_seconds=env_int("RUNRUN_RETRY_AFTER_SECONDS", 5, minimum=1),
            batch_sizes_dir=env_text("RUNRUN_BATCH_SIZES_DIR") or None,
        )
