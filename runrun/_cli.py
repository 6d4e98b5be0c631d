"""`python -m runrun serve | send | routes | deploy-plan | dead-letters | cloudbuild | catch-up`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from shared import ConfigError, Runtime, check_scheduling
from shared._serve_env import ServeDefaults
from shared.settings._settings import override_env

from ._discover import Target, discover
from ._errors import RunrunError
from ._server import DEFAULT_CONCURRENCY, SERVERS, ServeOptions

# `serve` is what a container runs at every cold start: it builds only its own parser, so
# the other commands' modules (deploy planning, gcloud checks, sample deliveries) are never
# imported there (see README, "Benchmarks": cold start).
_SERVE_ONLY = "serve"


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """Refuses a bad command line in one line (`--help` shows the usage), as every other
    configuration error is refused; its subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line (the top level takes no option but -h)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _parser(env: ServeDefaults, only_serve: bool = False) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m runrun",
        description="Serve every functions-framework target of main.py in one process tree.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    source = _Parser(add_help=False)
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
    serve.add_argument(
        "--dev",
        action="store_true",
        help="dev mode: bind 127.0.0.1, generate unset secrets, open inspector (env RUNRUN_DEV)",
    )
    serve.add_argument(
        "--host", default=env.host, help="env HOST (default 127.0.0.1 with --dev, else 0.0.0.0)"
    )
    serve.add_argument("--port", type=int, default=env.port, help="env PORT")
    serve.add_argument(
        "--concurrency",
        type=_positive,
        default=env.concurrency or DEFAULT_CONCURRENCY,
        help="requests in flight per instance (env RUNRUN_CONCURRENCY, default 80)",
    )
    serve.add_argument(
        "--workers",
        type=_positive,
        default=env.workers,
        help="worker processes (env RUNRUN_WORKERS, else WORKERS; default: available CPUs)",
    )
    serve.add_argument(
        "--threads",
        type=_positive,
        default=env.threads,
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
        default=env.server,
        help="HTTP server (env RUNRUN_SERVER, default granian)",
    )

    if only_serve:
        return parser
    from ._send import add_parser as send_parser
    from .deploy._cli import add_parsers as deploy_parsers

    commands.add_parser("routes", parents=[source], help="list each target and its route")
    send_parser(commands)

    deploy_parsers(commands, source)

    # Listed for --help only: `main` hands catch-up's arguments to the webhook library.
    commands.add_parser("catch-up", help="ask a provider to redeliver what it gave up on")

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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        env = ServeDefaults.from_env()
    except ConfigError as exc:
        print(f"runrun: {exc}", file=sys.stderr)
        return 2
    argv = sys.argv[1:] if argv is None else argv
    if _command(argv) == "catch-up":  # the webhook library's command (docs/catch-up.md)
        from shared.catchup import main as catch_up

        return catch_up(list(argv)[list(argv).index("catch-up") + 1 :])
    args = _parser(env, only_serve=_command(argv) == _SERVE_ONLY).parse_args(argv)
    if getattr(args, "source", None) is None:
        args.source = env.source
    try:
        if args.command == "serve":
            from ._server import serve

            # Flags override the environment, for this process and every worker it starts.
            settings = override_env({"RUNRUN_DEV": "1"} if args.dev else {})
            # A delayed processor on Pub/Sub is refused here, before any worker starts.
            check_scheduling(settings, Runtime(settings).processors)
            host = args.host or ("127.0.0.1" if settings.dev else "0.0.0.0")
            serve(
                ServeOptions(
                    host=host,
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
            from ._send import send

            return send(args)
        elif args.command == "routes":
            _routes(args)
        elif args.command == "deploy-plan":
            from .deploy._cli import deploy_plan

            return deploy_plan(args)
        elif args.command == "dead-letters":
            from .deploy._cli import dead_letters

            return dead_letters(args)
        elif args.command == "cloudbuild":
            from .deploy._cli import cloudbuild

            return cloudbuild(args)
    except RunrunError as exc:
        print(f"runrun: {exc}", file=sys.stderr)
        return exc.exit_code
    except ConfigError as exc:
        print(f"runrun: {exc}", file=sys.stderr)
        return 2
    return 0
