"""`runrun serve | routes | send | deploy-plan | dead-letters | cloudbuild`, and the commands
the source's library adds through its hooks (`runrun catch-up`, say)."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._discover import Discovery, discover
from ._env import ServeDefaults, set_env
from ._errors import RunrunError
from ._server import DEFAULT_CONCURRENCY, SERVERS, ServeOptions

# `serve` is what a container runs at every cold start: it builds only its own parser, so
# the other commands' modules (deploy planning, gcloud checks, sample deliveries) are never
# imported there (see docs/benchmarks.md: cold start).
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


def _source_parser(with_target: bool = True) -> _Parser:
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
        help="signature type of an undecorated function, which also names it as a target "
        "(http, event, cloudevent); repeatable; a bare TYPE is the default for undecorated "
        "targets (env FUNCTION_SIGNATURE_TYPE)",
    )
    if not with_target:
        return source
    source.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME",
        help="serve only this function, decorated or not (repeatable; env FUNCTION_TARGET; "
        "default: every decorated function and every one named in pyproject.toml)",
    )
    return source


def _add_serve(commands: Any, source: argparse.ArgumentParser) -> None:
    env = ServeDefaults.from_env()
    serve = commands.add_parser("serve", parents=[source], help="serve every target at /NAME")
    serve.add_argument(
        "--dev",
        action="store_true",
        help="dev mode: bind 127.0.0.1; the source's library may do more (env RUNRUN_DEV)",
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
        "--server",
        choices=SERVERS,
        default=env.server,
        help="HTTP server (env RUNRUN_SERVER, default granian)",
    )
    serve.add_argument(
        "--reload",
        action="store_true",
        help="restart the server when a source file changes (development only)",
    )
    serve.add_argument(
        "--env-file",
        type=Path,
        metavar="FILE",
        help="read variables from FILE (a .env file); the real environment wins",
    )


def _parser(only_serve: bool = False) -> argparse.ArgumentParser:
    parser = _Parser(
        prog="runrun",
        description="Serve every functions-framework target of main.py in one process tree.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    source = _source_parser()
    _add_serve(commands, source)
    if only_serve:
        return parser
    from ._send import add_parser as send_parser
    from .deploy._cli import add_parsers as deploy_parsers

    commands.add_parser(
        "routes", parents=[source], help="list each target and its route, and what is left alone"
    )
    # Deploy planning deploys every target (as `serve` serves them without --target).
    every = _source_parser(with_target=False)
    send_parser(commands, every)
    deploy_parsers(commands, every)
    build = commands.add_parser("cloudbuild", parents=[every], help="print cloudbuild.yaml")
    build.add_argument(
        "--check",
        type=Path,
        metavar="FILE",
        help="exit 1 unless FILE equals what would be printed",
    )
    return parser


def discovered(args: argparse.Namespace) -> Discovery:
    # Importing the targets may log to stdout, and these commands' stdout is their output
    # (`cloudbuild > cloudbuild.yaml`): whatever the import logs goes to stderr instead.
    with contextlib.redirect_stdout(sys.stderr):
        return discover(args.source, tuple(args.signature_type), tuple(getattr(args, "target", ())))


def _routes(args: argparse.Namespace) -> None:
    discovery = discovered(args)
    targets = discovery.targets
    width = max((len(t.name) for t in targets), default=0)
    for target in targets:
        print(f"{target.name:<{width}}  {target.signature_type:<10}  {target.route}")
    if not targets:
        from ._server import nothing_to_serve

        print(f"# {nothing_to_serve(discovery.source)}")
    if discovery.left_alone:
        print("\n# left alone (undecorated, not named as targets), and how to serve each:")
        width = max(len(f.name + f.parameters) for f in discovery.left_alone)
        for function in discovery.left_alone:
            how = function.serve_with or "(no signature type can call it)"
            print(f"{function.name + function.parameters:<{width}}  {how}")


def _serve(args: argparse.Namespace) -> int:
    from ._server import serve

    if args.reload:
        from ._reload import serve_reloading

        return serve_reloading(sys.argv[1:] if args.argv is None else args.argv, args.source, main)
    if args.dev:
        # For this process and every worker it starts: the source's library reads it too.
        set_env({"RUNRUN_DEV": "1"})
    dev = args.dev or ServeDefaults.from_env().dev
    serve(
        ServeOptions(
            host=args.host or ("127.0.0.1" if dev else "0.0.0.0"),
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
    return 0


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "send":
        from ._send import send

        return send(args)
    if args.command == "routes":
        _routes(args)
        return 0
    from .deploy import _cli as deploy

    if args.command == "deploy-plan":
        return deploy.deploy_plan(args)
    if args.command == "dead-letters":
        return deploy.dead_letters(args)
    return deploy.cloudbuild(args)


# runrun's own commands; any other is looked up among the source library's (`commands` hook).
BUILT_IN = ("serve", "routes", "send", "deploy-plan", "dead-letters", "cloudbuild")


def _library_command(command: str, rest: list[str]) -> int:
    """Run a command the source's library adds (see runrun.hooks: `commands`)."""
    with contextlib.redirect_stdout(sys.stderr):
        hooks = discover(ServeDefaults.from_env().source).hooks
    commands = getattr(hooks, "commands", None)
    added = dict(commands()) if commands is not None else {}
    if command not in added:
        known = ", ".join((*BUILT_IN, *sorted(added)))
        raise RunrunError(f"no command {command!r} (the commands: {known})")
    _help, run = added[command]
    return int(run(rest))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    given = list(sys.argv[1:] if argv is None else argv)
    try:
        from ._envfile import load_env_file

        load_env_file(given)  # before any default is read from the environment
        command = _command(given)
        if command is not None and command not in BUILT_IN:
            return _library_command(command, given[given.index(command) + 1 :])
        args = _parser(only_serve=_command(given) == _SERVE_ONLY).parse_args(given)
        args.argv = argv
        if getattr(args, "source", None) is None:
            args.source = ServeDefaults.from_env().source
        return _run(args)
    except RunrunError as exc:
        print(f"runrun: {exc}", file=sys.stderr)
        return exc.exit_code
    except ValueError as exc:  # a setting the source's library refused as it loaded
        if type(exc).__name__ != "ConfigError":
            raise
        print(f"runrun: {exc}", file=sys.stderr)
        return 2
