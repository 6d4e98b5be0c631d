"""JSON log lines that Cloud Logging understands, correlated with the request's trace.

Cloud Logging reads `severity`, `message`, `logging.googleapis.com/trace` (which needs the
project id, so functions-framework's own execution-id logging cannot build it) and
`logging.googleapis.com/spanId` from each stdout line. Per-request fields live in a
contextvar, so concurrent requests on one thread pool never mix them up.
Callers log ids, outcomes and reasons only: never a secret, signature or token.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

_context: contextvars.ContextVar[Mapping[str, Any]] = contextvars.ContextVar(
    "runrun_log_context", default=MappingProxyType({})
)

# json.dumps(entry, default=str), without building a new encoder for every line.
_ENCODE = json.JSONEncoder(default=str).encode

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}


def trace_fields(trace_header: str | None, project: str | None) -> dict[str, Any]:
    """Cloud Logging fields from `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=0|1`."""
    if not trace_header:
        return {}
    trace, _, rest = trace_header.partition("/")
    span, _, options = rest.partition(";")
    if not trace or not trace.isalnum() or len(trace) > 64:
        return {}
    fields: dict[str, Any] = {
        "logging.googleapis.com/trace": f"projects/{project}/traces/{trace}" if project else trace
    }
    if span.isdigit():
        fields["logging.googleapis.com/spanId"] = span
    if options in ("o=0", "o=1"):
        fields["logging.googleapis.com/trace_sampled"] = options == "o=1"
    return fields


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Add `fields` to every line logged inside the block (by this thread or task)."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


class CloudLoggingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "severity": record.levelname if record.levelname != "WARN" else "WARNING",
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        entry.update(_context.get())
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        return _ENCODE(entry)


class _CurrentStdout:
    """Whatever `sys.stdout` is when a line is written. Logging starts with the first request
    of a worker, not at import, and whoever runs the worker may have swapped stdout for a
    while by then (a test's capture, an embedding server): lines follow the current one
    instead of a stream that may since have been closed."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def configure_logging() -> None:
    """Send the `runrun` loggers to stdout as JSON lines: one handler per process, and the
    level and propagation put back on every call (something else may have changed them)."""
    logger = logging.getLogger("runrun")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    if any(isinstance(h.formatter, CloudLoggingFormatter) for h in logger.handlers):
        return
    handler: logging.StreamHandler[Any] = logging.StreamHandler(_CurrentStdout())
    handler.setFormatter(CloudLoggingFormatter())
    logger.addHandler(handler)
