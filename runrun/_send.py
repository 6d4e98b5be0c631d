"""`runrun send TARGET [SAMPLE]`: one request to a running target, from the command line.

Generic: the source is imported (not served) and its library's hooks (`runrun.hooks`), when
it has any, say which samples each target has and build each one as its sender would (the
webhook bundle signs them as each provider does, with the secret the target reads). Any
other target, of any project, gets a plain POST of `--body FILE` (or `-`, standard input).
Prints what went out (the values a library marks hidden replaced), the answer, and exits 1
unless the answer is a success (the library's idea of one, else any 2xx).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import sys
import urllib.parse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._discover import discover
from ._env import ServeDefaults
from ._errors import RunrunError

SHOWN_HEADERS = (
    "content-type",
    "idempotent-replayed",
    "retry-after",
    "allow",
    "www-authenticate",
    "x-content-type-options",
    "location",
)
MAX_SHOWN_BODY = 4000


def add_parser(commands: Any, source: argparse.ArgumentParser) -> None:
    """The `send` subcommand's arguments (`source`: the --source/--signature-type parser)."""
    send = commands.add_parser(
        "send",
        parents=[source],
        help="send a sample (or your own body) to a running target",
        description="Send one request to a running target: a sample its library builds "
        "(signed as its sender signs), or a plain POST of --body.",
    )
    send.add_argument("target", nargs="?", help="the target's name, e.g. github_webhook")
    send.add_argument("sample", nargs="?", help="the sample to send (default: the first)")
    send.add_argument("--event", help=argparse.SUPPRESS)  # the older spelling of SAMPLE
    send.add_argument(
        "--body", metavar="FILE", help="send this file's bytes (- for standard input)"
    )
    send.add_argument(
        "--content-type",
        default="application/json",
        help="Content-Type of a plain --body (default application/json)",
    )
    send.add_argument(
        "--url",
        help="the target's full URL (default http://127.0.0.1:$PORT/TARGET, PORT 8080)",
    )
    send.add_argument("--repeat", type=int, default=1, metavar="N", help="send it N times")
    send.add_argument("--stale", action="store_true", help="sign a timestamp a day old")
    send.add_argument("--bad-signature", action="store_true", help="sign with a wrong secret")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    send.add_argument("--list", action="store_true", help="list the targets and their samples")


@dataclass(frozen=True)
class PlainRequest:
    """A POST of the given body: what `send` sends to a target without samples."""

    url: str
    body: bytes
    content_type: str
    method: str = "POST"
    hidden: Iterable[str] = ()
    hidden_values: Iterable[str] = ()

    @property
    def headers(self) -> Mapping[str, str]:
        return {"Content-Type": self.content_type}

    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> str | None:
        return None if 200 <= status < 300 else f"HTTP {status} is not a 2xx"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


def _read_body(given: str | None) -> bytes | None:
    if given is None:
        return None
    try:
        return sys.stdin.buffer.read() if given == "-" else Path(given).read_bytes()
    except OSError as exc:
        raise RunrunError(f"cannot read {given}: {exc}") from None


def _request(out: Any, timeout: float) -> Answer:
    parts = urllib.parse.urlsplit(out.url)
    host = parts.hostname or "127.0.0.1"
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(out.method, path, body=out.body or None, headers=dict(out.headers))
        response = conn.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, response.read())
    finally:
        conn.close()


def _hide(text: str, out: Any) -> str:
    for value in out.hidden_values:
        if value:
            text = text.replace(urllib.parse.quote_plus(value), "(hidden)")
            text = text.replace(value, "(hidden)")
    return text


def _show_request(out: Any) -> None:
    hidden = {name.lower() for name in out.hidden}
    print(f"> {out.method} {_hide(out.url, out)}")
    for name, value in out.headers.items():
        print(f"> {name}: {'(hidden)' if name.lower() in hidden else value}")
    if out.body:
        print(f"> ({len(out.body)} bytes)")


def _show_answer(answer: Answer) -> None:
    print(f"< {answer.status} {http.client.responses.get(answer.status, '')}".rstrip())
    for name in SHOWN_HEADERS:
        if name in answer.headers:
            print(f"< {name.title()}: {answer.headers[name]}")
    text = answer.body.decode("utf-8", errors="replace")
    if len(text) > MAX_SHOWN_BODY:
        text = text[:MAX_SHOWN_BODY] + f"... ({len(answer.body)} bytes)"
    if text:
        print(text)


def _list(targets: Sequence[str], samples: Mapping[str, Sequence[str]]) -> None:
    width = max((len(name) for name in targets), default=0)
    for name in targets:
        print(f"{name:<{width}}  {', '.join(samples.get(name, ())) or '(--body FILE)'}")


def _build(args: argparse.Namespace, hooks: Any, samples: Mapping[str, Sequence[str]]) -> Any:
    port = ServeDefaults.from_env().port
    url = args.url or f"http://127.0.0.1:{port}/{args.target}"
    body = _read_body(args.body)
    names = samples.get(args.target, ())
    if names:
        sample = args.sample or args.event or names[0]
        if sample not in names and body is None:
            raise RunrunError(f"no sample {sample!r} for {args.target}: {', '.join(names)}")
        try:
            return hooks.sample_request(
                args.target, sample, url, body, args.stale, args.bad_signature
            )
        except ValueError as exc:
            raise RunrunError(str(exc)) from None
    if body is None:
        raise RunrunError(f"no samples for {args.target!r}: give --body FILE (or - for stdin)")
    if args.sample or args.event or args.stale or args.bad_signature:
        raise RunrunError(f"{args.target!r} has no samples: only --body can be sent to it")
    return PlainRequest(url, body, args.content_type)


def send(args: argparse.Namespace) -> int:
    """Run `runrun send`; returns the exit status."""
    with contextlib.redirect_stdout(sys.stderr):  # whatever the import prints
        discovery = discover(args.source, tuple(args.signature_type))
    hooks = discovery.hooks
    samples_of = getattr(hooks, "samples", None)
    samples: Mapping[str, Sequence[str]] = samples_of() if samples_of is not None else {}
    if args.list or not args.target:
        _list(discovery.defined, samples)
        return 0 if args.list else 2
    if args.target not in discovery.defined and args.target not in samples:
        known = ", ".join(discovery.defined) or "none"
        raise RunrunError(f"no target {args.target!r} in {discovery.source} (targets: {known})")
    if args.repeat < 1:
        raise RunrunError("--repeat must be >= 1")
    out = _build(args, hooks, samples)
    if args.stale or args.bad_signature:
        print("# deliberately invalid: a correct target refuses it (401)")
    failures = 0
    for attempt in range(1, args.repeat + 1):
        if args.repeat > 1:
            print(f"# attempt {attempt} of {args.repeat}")
        _show_request(out)
        try:
            answer = _request(out, args.timeout)
        except OSError as exc:
            print(f"runrun send: cannot reach {_hide(out.url, out)}: {exc}", file=sys.stderr)
            return 1
        _show_answer(answer)
        problem = out.check(answer.status, answer.headers, answer.body)
        if problem is None:
            print("# ok: the sender would count this as delivered")
        else:
            failures += 1
            print(f"# not a success for the sender: {problem}")
    return 1 if failures else 0
