"""A real round-robin load balancer in front of several servers: Debian's nginx, started by
the test in the foreground (`daemon off`) with a configuration, prefix, logs and temporary
files of its own in a temporary folder, listening on 127.0.0.1 only.

Each answer carries `X-Upstream: 127.0.0.1:PORT` (the instance that answered; a request
passed on to a second instance lists both, the answering one last).
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.helpers import free_port, stop_process

NGINX_MISSING = (
    "NGINX TESTS SKIPPED: nginx is not installed on this machine "
    "(`./dev test` installs Debian's package when run as root: apt-get install nginx-light)"
)

_CONFIG = """\
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 2048; }}
http {{
    access_log off;
    # Every temporary path inside the prefix: nothing is written outside it. Bodies and
    # answers are small and kept in memory, so the worker (which may run as another user
    # than the master) never needs these folders.
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_body_buffer_size 1m;
    upstream instances {{
        # Round robin, nginx's default. A refused connection (an instance gone) passes the
        # request on to the next instance; a POST already sent is never passed on (nginx
        # does not repeat non-idempotent requests), so its sender gets 502 and retries.
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://instances;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_read_timeout 120s;
            proxy_next_upstream {next_upstream};
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@dataclass(frozen=True)
class Balancer:
    port: int
    folder: Path


def upstream_port(answer_headers: dict[str, str]) -> int | None:
    """The port of the instance that answered (the last one nginx tried)."""
    upstream = answer_headers.get("x-upstream", "")
    last = upstream.rsplit(",", 1)[-1].strip()
    if ":" not in last:
        return None
    return int(last.rsplit(":", 1)[1])


def closed_without_answer(balancer: Balancer) -> int:
    """Requests whose instance closed the connection before answering (nginx's error log)."""
    log = balancer.folder / "error.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    return text.count("upstream prematurely closed connection")


def nginx_or_skip() -> str:
    """The nginx binary, or skip the test with one loud reason."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        pytest.skip(NGINX_MISSING)
    return found


@contextmanager
def round_robin(
    ports: list[int], folder: Path, *, mark_down: bool = True, pass_on_posts: bool = False
) -> Iterator[Balancer]:
    """nginx balancing round robin over `ports` on 127.0.0.1, for the `with` block.

    `mark_down`: an instance that refused a connection is left out for 10 s (a crash). A
    rollout replaces instances faster than that, and would leave none: without it, a
    refused connection only passes the request on to the next instance.

    `pass_on_posts`: a POST whose connection the instance closed without answering is
    passed on to the next instance instead of answered 502. An instance that stops closes
    its idle keep-alive connections, and one may close just as nginx sends a request on
    it: HTTP/1.1 lets a client retry a non-idempotent request when it knows its semantics
    are idempotent (RFC 9112, section 9.3.1), as webhook deliveries are, by their id."""
    nginx = nginx_or_skip()
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    health = "max_fails=1 fail_timeout=10s" if mark_down else "max_fails=0"
    servers = "\n".join(f"        server 127.0.0.1:{p} {health};" for p in ports)
    next_upstream = "error timeout non_idempotent" if pass_on_posts else "error timeout"
    config = folder / "nginx.conf"
    config.write_text(
        _CONFIG.format(prefix=folder, servers=servers, port=port, next_upstream=next_upstream)
    )
    argv = [nginx, "-p", str(folder), "-c", str(config), "-e", str(folder / "error.log")]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    with (folder / "nginx.out").open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, process, folder)
        yield Balancer(port, folder)
    finally:
        stop_process(process, timeout=20)  # SIGTERM: nginx's fast shutdown


def _wait_listening(port: int, process: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = (folder / "error.log").read_text(errors="replace")
            raise RuntimeError(f"nginx exited {process.returncode}:\n{log}")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/_runrun/health")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    raise RuntimeError("nginx did not listen within 60 s")
