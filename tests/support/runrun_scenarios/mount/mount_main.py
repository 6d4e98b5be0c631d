"""Targets that show where they are served from and how they are served: the URL under the
mount, the process's functions-framework variables, and how many requests one worker
process runs at once."""

import os
import threading
import time
from pathlib import Path

import functions_framework
import functions_framework.aio

VARIABLES = ("FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "FUNCTION_NAME", "FUNCTION_TRIGGER_TYPE")


@functions_framework.http
def where(request):
    """The request's URL as Flask sees it, and the functions-framework variables."""
    return {
        "url": request.url,
        "base_url": request.base_url,
        "url_root": request.url_root,
        "host_url": request.host_url,
        "script_root": request.script_root,
        "path": request.path,
        "full_path": request.full_path,
        "env": {name: os.environ.get(name) for name in VARIABLES},
    }


@functions_framework.aio.http
async def where_async(request):
    """The request's URL as Starlette sees it (`functions-framework --asgi`), and the
    mount runrun served it under (none under functions-framework)."""
    return {
        "url": str(request.url),
        "path": request.url.path,
        "scope_path": request.scope["path"],
        "root_path": request.scope.get("root_path", ""),
        "path_param": request.path_params.get("path", ""),
        "mount": request.scope.get("runrun.mount", ""),
    }


_in_flight = 0
_most = 0
_lock = threading.Lock()


def gate(request):
    """Undecorated HTTP: held until the release file exists; answers this process's id and
    the most requests it has run at once."""
    global _in_flight, _most
    folder = Path(os.environ["SCENARIO_GATE_DIR"])
    with _lock:
        _in_flight += 1
        _most = max(_most, _in_flight)
        (folder / f"entered-{os.getpid()}-{threading.get_ident()}-{time.time_ns()}").touch()
    try:
        for _ in range(1200):  # bounded: at most about a minute
            if (folder / "release").exists():
                break
            time.sleep(0.05)
        return {"pid": os.getpid(), "most_at_once": _most}
    finally:
        with _lock:
            _in_flight -= 1
