"""Load with wrk: pre-signed GitHub deliveries with unique ids, cycled from a Lua table.

wrk cannot compute an HMAC, so every request is signed here beforehand; each wrk thread takes
every n-th request so no two threads send the same delivery by accident.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import resource
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

SECRET = "bench-secret"

_LUA = r"""
local requests = {}
local count = 0
local next_index = 1
local threads = {}
-- thread_id is a global set by setup() through thread:set(); a local here would hide it.

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path = args[1]
  local stride = tonumber(args[2])
  local index = 0
  for line in io.lines(args[3]) do
    if index % stride == tonumber(thread_id) then
      local sep = string.find(line, "\t", 1, true)
      local headers = {}
      for name, value in string.gmatch(string.sub(line, 1, sep - 1), "([^=;]+)=([^;]*)") do
        headers[name] = value
      end
      count = count + 1
      requests[count] = wrk.format("POST", path, headers, string.sub(line, sep + 1))
    end
    index = index + 1
  end
end

function request()
  local r = requests[next_index]
  next_index = next_index + 1
  if next_index > count then next_index = 1 end
  return r
end

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT {\"requests\": %d, \"duration_us\": %d, \"non2xx\": %d, \"socket_errors\": %d, "
    .. "\"p50_us\": %d, \"p90_us\": %d, \"p99_us\": %d, \"max_us\": %d}\n",
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def push_body(delivery: str) -> bytes:
    """A push to a feature branch: stored and relayed, no deploy command."""
    return json.dumps(
        {
            "ref": "refs/heads/feature/bench",
            "before": "0" * 40,
            "after": hashlib.sha1(delivery.encode()).hexdigest(),
            "repository": {"id": 1296269, "full_name": "octo/bench", "default_branch": "main"},
            "pusher": {"name": "octocat", "email": "octocat@example.com"},
            "head_commit": {"id": delivery, "message": "Benchmark commit " + "x" * 300},
        }
    ).encode()


def signed_requests(count: int, copies: int) -> list[tuple[dict[str, str], bytes]]:
    """`count` distinct deliveries; with copies > 1 the whole sequence repeats that often."""
    unique = []
    for _ in range(count):
        delivery = str(uuid.uuid4())
        body = push_body(delivery)
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": "sha256=" + signature,
        }
        unique.append((headers, body))
    return unique * copies


def dialogflow_requests(count: int) -> list[tuple[dict[str, str], bytes]]:
    """`count` distinct order-status calls of a Dialogflow CX agent (static-header auth)."""
    unique = []
    for _ in range(count):
        call = str(uuid.uuid4())
        body = {
            "detectIntentResponseId": call,
            "fulfillmentInfo": {"tag": "order-status"},
            "sessionInfo": {
                "session": f"projects/bench/locations/global/agents/a/sessions/{call}",
                "parameters": {"order_id": "#9999"},
            },
            "pageInfo": {"displayName": "Order status"},
            "text": "Where is my order #9999?",
            "languageCode": "en",
        }
        headers = {"Content-Type": "application/json", "X-Dialogflow-Secret": SECRET}
        unique.append((headers, json.dumps(body).encode()))
    return unique


def hello_requests(count: int) -> list[tuple[dict[str, str], bytes]]:
    return [({"Content-Type": "application/json"}, b"{}")] * count


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    rps: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    generator_cpu: float  # cores the load generator itself used


def wrk_path() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk; ./dev bench does this)")
    return path


def run_wrk(
    url: str,
    path: str,
    requests: list[tuple[dict[str, str], bytes]],
    *,
    seconds: float,
    connections: int,
    threads: int = 2,
) -> LoadResult:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.lua"
        script.write_text(_LUA)
        table = Path(tmp) / "requests.tsv"
        with table.open("wb") as out:
            for headers, body in requests:
                head = ";".join(f"{k}={v}" for k, v in headers.items())
                out.write(head.encode() + b"\t" + body + b"\n")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        completed = subprocess.run(
            [
                wrk_path(),
                f"-t{threads}",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
                "--",
                path,
                str(threads),
                str(table),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    match = re.search(r"^RESULT (\{.*\})$", completed.stdout, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    raw = json.loads(match.group(1))
    duration = raw["duration_us"] / 1e6
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return LoadResult(
        requests=raw["requests"],
        seconds=duration,
        rps=raw["requests"] / duration if duration else 0.0,
        non2xx=raw["non2xx"],
        socket_errors=raw["socket_errors"],
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        generator_cpu=cpu / wall if wall else 0.0,
    )
