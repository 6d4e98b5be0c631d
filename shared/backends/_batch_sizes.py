"""How many items each batched write carried: the stores and publishers that share one
round trip or one transaction among concurrent callers call `record` once per batch.

The benchmark prints these figures. Recording is a dictionary update under a lock, always
on; a worker writes its figures out at shutdown only when RUNRUN_BATCH_SIZES_DIR names a
directory (`write_out`).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from pathlib import Path

_sizes: dict[str, Counter[int]] = {}
_guard = threading.Lock()


def record(kind: str, size: int) -> None:
    """One batch of `size` items went out as `kind` (e.g. "firestore.claims")."""
    with _guard:
        _sizes.setdefault(kind, Counter())[size] += 1


def snapshot() -> dict[str, dict[int, int]]:
    """kind -> {batch size: batches of that size}, in this process since it started."""
    with _guard:
        return {kind: dict(sorted(counts.items())) for kind, counts in _sizes.items()}


def write_out(directory: str | None) -> Path | None:
    """Write this process's figures to `directory`/<pid>.json (RUNRUN_BATCH_SIZES_DIR), if
    one is given."""
    figures = snapshot()
    if not directory or not figures:
        return None
    path = Path(directory) / f"{os.getpid()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures))
    return path
