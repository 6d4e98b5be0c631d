"""`catch-up github`: the command line, its settings, and the run it starts.

    python -m shared.catchup github (--repo OWNER/REPO | --org ORG | --app) [--hook-id N]
        [--since WHEN] [--dry-run] [--target NAME] [--json]

Settings (environment; on Cloud Run, Secret Manager secrets mapped to these names):
GITHUB_TOKEN (a token allowed to read and redeliver the hook's deliveries), or a GitHub App:
GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY (PEM), GITHUB_APP_INSTALLATION_ID (optional: found
from the repository or organisation otherwise). GITHUB_API_URL: an Enterprise Server's API
(default https://api.github.com). The idempotency store is the one the targets use
(RUNRUN_STORE and its settings).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import NoReturn
from urllib.parse import urlsplit

from ._auth import AppAuth, Auth, TokenAuth
from ._errors import CatchUpError, UsageError
from ._github import Hook, HookDeliveries, app_hook, org_hook, repo_hook
from ._http import Clock, GitHubHttp, Sleep
from ._ledger import open_ledger
from ._output import as_json, text_lines
from ._run import REDELIVERY_WINDOW_SECONDS, Report, Verdict, catch_up

DEFAULT_API_URL = "https://api.github.com"
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_ORGANISATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*$")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see --help)")


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="runrun catch-up",
        description="Ask a provider to deliver again what it gave up on while runrun was down.",
    )
    providers = top.add_subparsers(dest="provider", required=True)
    github = providers.add_parser(
        "github", help="redeliver a GitHub hook's failed deliveries that runrun never accepted"
    )
    which = github.add_mutually_exclusive_group(required=True)
    which.add_argument("--repo", metavar="OWNER/REPO", help="a repository's webhook")
    which.add_argument("--org", metavar="ORG", help="an organisation's webhook")
    which.add_argument("--app", action="store_true", help="the GitHub App's own webhook")
    github.add_argument("--hook-id", type=int, metavar="N", help="the hook (X-GitHub-Hook-ID)")
    github.add_argument(
        "--since",
        default="3d",
        metavar="WHEN",
        help="look back to this time (ISO 8601) or this long (90m, 6h, 2d); default 3d, "
        "GitHub's redelivery window",
    )
    github.add_argument("--dry-run", action="store_true", help="report only; ask for nothing")
    github.add_argument(
        "--target",
        default="github_webhook",
        help="the runrun target receiving this hook (its idempotency keys); default github_webhook",
    )
    github.add_argument("--json", action="store_true", help="print the report as JSON")
    return top


def parse_since(raw: str, now: float) -> float:
    """`--since` as epoch seconds: an ISO 8601 time with a zone, or a duration back from now."""
    duration = _DURATION.match(raw.strip())
    if duration:
        return now - float(duration.group(1)) * _UNIT_SECONDS[duration.group(2)]
    try:
        when = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise UsageError(
            f"--since {raw!r} is neither a time (2024-05-01T10:00:00Z) nor a duration (6h)"
        ) from exc
    if when.tzinfo is None:
        raise UsageError(f"--since {raw!r} needs a time zone (Z or +HH:MM)")
    return when.timestamp()


def choose_hook(args: argparse.Namespace) -> Hook:
    if args.app:
        if args.hook_id is not None:
            raise UsageError("--app takes no --hook-id: a GitHub App has one webhook")
        return app_hook()
    if args.hook_id is None or args.hook_id < 1:
        raise UsageError("--hook-id N is required with --repo or --org (a positive number)")
    if args.repo is not None:
        if not _REPOSITORY.match(args.repo):
            raise UsageError(f"--repo {args.repo!r} is not OWNER/REPO")
        return repo_hook(args.repo, args.hook_id)
    if not _ORGANISATION.match(args.org):
        raise UsageError(f"--org {args.org!r} is not an organisation's name")
    return org_hook(args.org, args.hook_id)


def choose_auth(env: Mapping[str, str], app: bool) -> Auth:
    """The App when its settings are there (or --app needs it), else the token."""
    token = env.get("GITHUB_TOKEN", "").strip()
    app_id = env.get("GITHUB_APP_ID", "").strip()
    key = env.get("GITHUB_APP_PRIVATE_KEY", "").strip()
    if app_id and key and (app or not token):
        installation = env.get("GITHUB_APP_INSTALLATION_ID", "").strip()
        if installation and not installation.isdigit():
            raise UsageError("GITHUB_APP_INSTALLATION_ID must be a number")
        return AppAuth(app_id, key, int(installation) if installation else None)
    if (app_id or key) and not (app_id and key):
        raise UsageError("a GitHub App needs both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY")
    if token and not app:
        return TokenAuth(token)
    needed = "GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY" if app else "GITHUB_TOKEN or a GitHub App"
    raise UsageError(f"no GitHub credentials: set {needed}")


def api_url(env: Mapping[str, str]) -> str:
    """GITHUB_API_URL, checked: an http(s) URL (an Enterprise Server's ends in /api/v3)."""
    raw = env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise UsageError(f"GITHUB_API_URL {raw!r} is not an http(s) URL of GitHub's API")
    return raw


def main(
    argv: Sequence[str] | None = None,
    *,
    clock: Clock = time.time,
    sleep: Sleep = time.sleep,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run `catch-up` with `argv`; the exit status (0 done, 1 failed, 2 bad usage)."""
    env = os.environ if env is None else env
    try:
        args = parser().parse_args(sys.argv[1:] if argv is None else argv)
        return _github(args, env, clock, sleep)
    except CatchUpError as exc:
        print(f"catch-up: {exc.message}", file=sys.stderr)
        return exc.exit_code


def _github(args: argparse.Namespace, env: Mapping[str, str], clock: Clock, sleep: Sleep) -> int:
    now = clock()
    hook, auth = choose_hook(args), choose_auth(env, args.app)
    since = parse_since(args.since, now)
    if since > now:
        raise UsageError(f"--since {args.since!r} is in the future")
    http = GitHubHttp(api_url(env), clock=clock, sleep=sleep)
    ledger, close = open_ledger(args.target)
    report = Report(hook.label, since, args.dry_run)
    try:
        catch_up(HookDeliveries(http, auth, hook), ledger, report, now=now)
    finally:
        close()
        print(as_json(report) if args.json else "\n".join(text_lines(report)))
        if since < now - REDELIVERY_WINDOW_SECONDS:
            print("catch-up: GitHub redelivers only the past 3 days' deliveries", file=sys.stderr)
    return 1 if report.count(Verdict.REFUSED) else 0
