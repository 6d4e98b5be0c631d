"""Process-wide clients built once, on first use, under a lock, and rebuilt after a fork.

`if client is None: client = make()` races under threaded servers (two clients, two
connections, one lost); gRPC channels must also never cross a fork, so a pre-fork master
never hands its client to a worker.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._value: T | None = None
        self._pid = 0

    def get(self) -> T:
        value, pid = self._value, self._pid
        if value is not None and pid == os.getpid():
            return value
        with self._lock:
            if self._value is None or self._pid != os.getpid():
                self._value = self._factory()
                self._pid = os.getpid()
            return self._value

    def peek(self) -> T | None:
        """The value if this process built it already, without building it."""
        return self._value if self._pid == os.getpid() else None

    def reset(self) -> None:
        with self._lock:
            self._value = None
            self._pid = 0
