"""`python -m runrun serve | send | routes | deploy-plan | cloudbuild`."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ._cloudbuild import cloudbuild_yaml
from ._deploy import MODES, PlanSettings, plan
from ._discover import Target, discover
from ._errors import RunrunError
from ._send import add_parser as send_parser
from ._send import send
from ._server import DEFAULT_CONCURRENCY, SERVERS, ServeOptions


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m runrun",
        description="Serve every functions-framework target of main.py in one process tree.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    source = argparse.ArgumentParser(add_help=False)
    source.add_argument(
        "--source",
        type=Path,
        default=None,
        help="the module defining the targets (env FUNCTION_SOURCE, default ./main.py)",
    )
    source.add_argument(
        "--signature-type",
        action="append",
        default=[],
        metavar="NAME=TYPE",
        help="signature type of an undecorated target (http, event, cloudevent, typed); "
        "repeatable; a bare TYPE is the default for undecorated targets "
        "(env FUNCTION_SIGNATURE_TYPE)",
    )

    serve = commands.add_parser("serve", parents=[source], help="serve every target at /NAME")
    serve.add_argument("--host", default=os.environ.get("HOST") or "0.0.0.0")
    serve.add_argument("--port", type=int, default=_env_int("PORT", 8080), help="env PORT")
    serve.add_argument(
        "--concurrency",
        type=_positive,
        default=_env_int("RUNRUN_CONCURRENCY", DEFAULT_CONCURRENCY),
        help="requests in flight per instance (env RUNRUN_CONCURRENCY, default 80)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=_env_int("RUNRUN_WORKERS", 0) or _env_int("WORKERS", 0) or None,
        help="worker processes (env RUNRUN_WORKERS, else WORKERS; default: available CPUs)",
    )
    serve.add_argument(
        "--threads",
        type=_positive,
        default=_env_int("THREADS", 0) or None,
        help="request threads per worker (env THREADS; default: concurrency / workers)",
    )
    serve.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="serve only this target (repeatable; default: every target)",
    )
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default=os.environ.get("RUNRUN_SERVER") or "granian",
        help="HTTP server (env RUNRUN_SERVER, default granian)",
    )

    commands.add_parser("routes", parents=[source], help="list each target and its route")
    send_parser(commands)

    deploy = commands.add_parser("deploy-plan", parents=[source], help="print gcloud commands")
    deploy.add_argument("--mode", choices=MODES, required=True)
    deploy.add_argument("--project", default="")
    deploy.add_argument("--region", default="")
    deploy.add_argument("--service", default="")
    deploy.add_argument("--image", default="")

    build = commands.add_parser("cloudbuild", parents=[source], help="print cloudbuild.yaml")
    build.add_argument(
        "--check",
        type=Path,
        metavar="FILE",
        help="exit 1 unless FILE equals what would be printed",
    )
    return parser


def _targets(args: argparse.Namespace) -> tuple[Target, ...]:
    # Importing the targets may log to stdout, and these commands' stdout is their output
    # (`cloudbuild > cloudbuild.yaml`): whatever the import logs goes to stderr instead.
    with contextlib.redirect_stdout(sys.stderr):
        return discover(args.source, tuple(args.signature_type)).targets


def _routes(args: argparse.Namespace) -> None:
    targets = _targets(args)
    width = max((len(t.name) for t in targets), default=0)
    for target in targets:
        print(f"{target.name:<{width}}  {target.signature_type:<10}  {target.route}")


def _deploy_plan(args: argparse.Namespace) -> None:
    overrides: dict[str, str | int] = {
        "project": args.project,
        "region": args.region,
        "service": args.service,
        "image": args.image,
    }
    settings = PlanSettings.from_env(**overrides)
    for line in plan(args.mode, _targets(args), settings):
        print(line)


def _cloudbuild(args: argparse.Namespace) -> int:
    text = cloudbuild_yaml(_targets(args))
    if args.check is None:
        sys.stdout.write(text)
        return 0
    current = args.check.read_text() if args.check.is_file() else ""
    if current != text:
        print(
            f"{args.check} does not match the targets: "
            "run `python -m runrun cloudbuild > cloudbuild.yaml`",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            from ._server import serve

            serve(
                ServeOptions(
                    host=args.host,
                    port=args.port,
                    concurrency=args.concurrency,
                    workers=args.workers or 0,
                    server=args.server,
                    source=args.source,
                    signature_types=tuple(args.signature_type),
                    targets=tuple(args.target),
                    threads_per_worker=args.threads or 0,
                )
            )
        elif args.command == "send":
            return send(args)
        elif args.command == "routes":
            _routes(args)
        elif args.command == "deploy-plan":
            _deploy_plan(args)
        elif args.command == "cloudbuild":
            return _cloudbuild(args)
    except RunrunError as exc:
        print(f"runrun: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0
