"""What functions-framework sets up for the whole process before the source module runs.

- LOG_EXECUTION_ID=true: the root logger writes through the execution-id stream
  (`_configure_app_execution_id_logging`, a `dictConfig`). It must run before the module is
  imported: `dictConfig` disables every logger that exists when it runs.
- ENTRY_POINT (the legacy Python 3.7 runtime): stdout and stderr become JSON lines with a
  severity, and the root logger gets functions-framework's `setup_logging` handlers.
- FUNCTION_TARGET / FUNCTION_SIGNATURE_TYPE (and, in the legacy mode, FUNCTION_NAME /
  FUNCTION_TRIGGER_TYPE) name the one function a process serves, so they are set only when
  runrun serves a single target: one process-wide variable cannot name several.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import functions_framework as _functions_framework

from ._env import FrameworkEnv, set_env

# functions-framework ships no annotations: use it as the untyped module it is.
functions_framework: Any = _functions_framework
_configured = threading.Event()
_lock = threading.Lock()


def legacy_mode() -> bool:
    """functions-framework's legacy GCF Python 3.7 behaviour, switched on by ENTRY_POINT."""
    return FrameworkEnv.from_env().entry_point


def configure_process_logging() -> None:
    """Once per process, before any source module runs (as `create_app` orders it)."""
    with _lock:
        if _configured.is_set():
            return
        if functions_framework._enable_execution_id_logging():
            functions_framework._configure_app_execution_id_logging()
        if legacy_mode():
            sys.stdout = functions_framework._LoggingHandler("INFO", sys.stderr)
            sys.stderr = functions_framework._LoggingHandler("ERROR", sys.stderr)
            functions_framework.setup_logging()
        _configured.set()


def set_single_target_env(name: str, signature_type: str) -> None:
    """The variables functions-framework sets for the function it serves."""
    values = {"FUNCTION_TARGET": name, "FUNCTION_SIGNATURE_TYPE": signature_type}
    env = FrameworkEnv.from_env()
    if env.entry_point:
        values["FUNCTION_NAME"] = env.service or name
        values["FUNCTION_TRIGGER_TYPE"] = signature_type
    set_env(values)
