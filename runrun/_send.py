"""`python -m runrun send TARGET`: a correctly signed sample delivery to a running target.

Signed with the same env vars the target reads (the first value of each), sent to the local
`runrun serve` or to `--url`; prints what went out (signatures and secrets hidden), the
answer, and exits 1 unless the provider would count the answer as a success.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import time
import urllib.parse
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared import get_settings, secrets_from_env
from shared._serve_env import ServeDefaults
from shared.settings._secrets import load_dev_secrets

from . import _samples
from ._deliveries import SENDERS, Answer, Draft, Outgoing, Sender, sender_for
from ._errors import RunrunError

STALE_SECONDS = 24 * 3600  # far outside every provider's tolerance (Slack's is 5 minutes)
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


def add_parser(commands: Any) -> None:
    """The `send` subcommand's arguments."""
    targets = ", ".join(s.target for s in SENDERS)
    send = commands.add_parser(
        "send",
        help="send a signed sample delivery to a running target",
        description=f"Send a signed sample delivery. Targets: {targets}.",
    )
    send.add_argument("target", nargs="?", help="the target's name, e.g. github_webhook")
    send.add_argument("--event", help="the sample event (default: the provider's first)")
    send.add_argument("--body", type=Path, metavar="FILE", help="send this body instead")
    send.add_argument(
        "--url",
        help="the target's full URL (default http://127.0.0.1:$PORT/TARGET, PORT 8080)",
    )
    send.add_argument(
        "--provider",
        choices=[s.provider for s in SENDERS],
        help="sign as this provider (default: the one serving TARGET in main.py)",
    )
    send.add_argument("--repeat", type=int, default=1, metavar="N", help="send it N times")
    send.add_argument("--stale", action="store_true", help="sign a timestamp a day old")
    send.add_argument("--bad-signature", action="store_true", help="sign with a wrong secret")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    send.add_argument("--list", action="store_true", help="list the sample events and exit")


def _secret(env: str) -> str | None:
    """The first value of `env`, else the dev secret `runrun serve --dev` generated for it."""
    values = secrets_from_env(env)
    if values:
        return values[0].decode()
    return load_dev_secrets(get_settings().dev_secrets_path).get(env)


def _draft(sender: Sender, args: argparse.Namespace, event: str, url: str) -> Draft:
    env = sender.event_envs.get(event, sender.secret_env)
    secret = _secret(env)
    if secret is None:
        if event not in sender.keyless:
            raise RunrunError(f"{env} is not set: send signs with the secret the target reads")
        secret = ""
    if args.stale and not sender.timestamped:
        raise RunrunError(f"{sender.provider} signs no timestamp: --stale means nothing there")
    now = int(time.time())
    stamp = now - STALE_SECONDS if args.stale else now
    delivery_id = uuid.uuid4().hex
    signed_with = f"not-{secret}" if args.bad_signature else secret
    values: dict[str, str | int] = {
        "id": delivery_id,
        "n": str(int(delivery_id, 16))[:19],
        "ts": stamp,
        "ts_ms": stamp * 1000,
        "iso": datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "client_state": signed_with,
    }
    if args.body is not None:
        try:
            body = _samples.fill(args.body.read_text(encoding="utf-8"), values)
        except (OSError, UnicodeDecodeError) as exc:
            raise RunrunError(f"cannot read {args.body}: {exc}") from None
    elif event in sender.bodyless:
        body = b""
    else:
        body = _samples.load(sender.provider, event, values)
    return Draft(url, event, body, signed_with, stamp, delivery_id, args.bad_signature)


def _request(out: Outgoing, timeout: float) -> Answer:
    parts = urllib.parse.urlsplit(out.url)
    host = parts.hostname or "127.0.0.1"
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(host, parts.port, timeout=timeout)
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request(out.method, path, body=out.body or None, headers=out.headers)
        response = conn.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, response.read())
    finally:
        conn.close()


def _hide(text: str, out: Outgoing) -> str:
    for value in out.hidden_values:
        if value:
            text = text.replace(urllib.parse.quote_plus(value), "(hidden)")
            text = text.replace(value, "(hidden)")
    return text


def _show_request(out: Outgoing) -> None:
    print(f"> {out.method} {_hide(out.url, out)}")
    for name, value in out.headers.items():
        print(f"> {name}: {'(hidden)' if name in out.hidden else value}")
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


def _list() -> None:
    for sender in SENDERS:
        print(f"{sender.target:<18} {sender.secret_env:<26} {', '.join(sender.events)}")


def send(args: argparse.Namespace) -> int:
    """Run `runrun send`; returns the exit status."""
    if args.list or not args.target:
        _list()
        return 0 if args.list else 2
    sender = sender_for(args.target, args.provider)
    if sender is None:
        known = ", ".join(s.target for s in SENDERS)
        raise RunrunError(f"no samples for {args.target!r}: use --provider (known: {known})")
    event = args.event or sender.events[0]
    if event not in sender.events and args.body is None:
        raise RunrunError(f"no sample {event!r} for {sender.target}: {', '.join(sender.events)}")
    if args.repeat < 1:
        raise RunrunError("--repeat must be >= 1")
    port = ServeDefaults.from_env().port
    url = args.url or f"http://127.0.0.1:{port}/{args.target}"
    out = sender.build(_draft(sender, args, event, url))
    if args.stale or args.bad_signature:
        print("# deliberately invalid: a provider-correct target refuses it (401)")
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
        problem = out.check(answer)
        if problem is None:
            print("# ok: the provider would count this as delivered")
        else:
            failures += 1
            print(f"# not a success for the provider: {problem}")
    return 1 if failures else 0
