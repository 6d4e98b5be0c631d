"""The deploy commands of the CLI: `deploy-plan [--check]` and `dead-letters list|replay`."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

from shared import get_settings

from ._dead_letters import DeadLetterError, list_dead_letters, print_letters, replay
from ._deploy import MODES, PlanSettings, event_triggers, plan
from ._discover import Target, discover
from ._gcloud_check import HelpCache, check, cloudbuild_script

_HEADER = ("#!/usr/bin/env bash", "set -euo pipefail")


def add_parsers(commands: Any, source: argparse.ArgumentParser) -> None:
    deploy = commands.add_parser(
        "deploy-plan", parents=[source], help="print the gcloud commands deploying the targets"
    )
    deploy.add_argument("--mode", choices=MODES, help="required unless --check")
    deploy.add_argument("--project", default="")
    deploy.add_argument("--region", default="")
    deploy.add_argument("--service", default="")
    deploy.add_argument("--image", default="")
    deploy.add_argument(
        "--check",
        action="store_true",
        help="hold every command and flag of the plan (both modes unless --mode) and of "
        "cloudbuild.yaml against the installed gcloud's --help; exit 1 naming each bad line",
    )
    deploy.add_argument(
        "--cloudbuild", type=Path, default=Path("cloudbuild.yaml"), help="checked with --check"
    )

    letters = commands.add_parser(
        "dead-letters", help="list or replay what Pub/Sub dead-lettered for an event target"
    )
    actions = letters.add_subparsers(dest="action", required=True)
    for name in ("list", "replay"):
        action = actions.add_parser(name, parents=[source])
        action.add_argument("target", help="the event target, e.g. process_delivery")
        action.add_argument("--project", default=get_settings().project or "")
        action.add_argument("--subscription", default="", help="default: TARGET-dead-letters")
        action.add_argument("--max", type=int, default=100, dest="limit")
        if name == "list":
            action.add_argument("--data", action="store_true", help="print each message's data")
        else:
            action.add_argument("--topic", default="", help="default: the target's trigger topic")
            action.add_argument(
                "--message-id", action="append", default=[], help="only these (repeatable)"
            )


def _targets(args: argparse.Namespace) -> tuple[Target, ...]:
    # Importing the targets may log to stdout, which is these commands' output.
    with contextlib.redirect_stdout(sys.stderr):
        return discover(args.source, tuple(getattr(args, "signature_type", ()))).targets


def _settings(args: argparse.Namespace) -> PlanSettings:
    overrides: dict[str, Any] = {
        "project": args.project,
        "region": args.region,
        "service": args.service,
        "image": args.image,
    }
    if args.source is not None:
        overrides["pyproject"] = args.source.resolve().parent / "pyproject.toml"
    return PlanSettings.from_env(**overrides)


def _check(args: argparse.Namespace, targets: tuple[Target, ...], s: PlanSettings) -> int:
    lines = [
        (f"deploy-plan --mode {mode}", line)
        for mode in ([args.mode] if args.mode else MODES)
        for line in plan(mode, targets, s)
    ]
    if args.cloudbuild.is_file():
        script = cloudbuild_script(args.cloudbuild.read_text())
        lines += [(str(args.cloudbuild), line) for line in script]
    cache = HelpCache()
    problems = check(lines, cache)
    for problem in problems:
        print(problem, file=sys.stderr)
    commands = len(cache.leaves)
    print(
        f"checked {len(lines)} lines, {commands} gcloud commands, against {cache.gcloud}: "
        + (f"{len(problems)} problem(s)" if problems else "all known"),
        file=sys.stderr,
    )
    return 1 if problems else 0


def deploy_plan(args: argparse.Namespace) -> int:
    settings = _settings(args)
    targets = _targets(args)
    if args.check:
        return _check(args, targets, settings)
    if not args.mode:
        raise SystemExit("deploy-plan: --mode run|functions is required (or give --check)")
    for line in (*_HEADER, *plan(args.mode, targets, settings)):
        print(line)
    return 0


def dead_letters(args: argparse.Namespace) -> int:
    if not args.project:
        raise DeadLetterError("dead-letters: give --project or set GOOGLE_CLOUD_PROJECT")
    if args.action == "list":
        letters = list_dead_letters(
            args.project, args.target, subscription=args.subscription, limit=args.limit
        )
        print_letters(letters, args.data)
        print(f"{len(letters)} dead letter(s) of {args.target}", file=sys.stderr)
        return 0
    topic = args.topic or _trigger_topic(args)
    published = replay(
        args.project,
        args.target,
        topic,
        subscription=args.subscription,
        message_ids=frozenset(args.message_id),
        limit=args.limit,
    )
    for message_id in published:
        print(message_id)
    print(f"replayed {len(published)} dead letter(s) of {args.target} to {topic}", file=sys.stderr)
    return 0


def _trigger_topic(args: argparse.Namespace) -> str:
    targets = _targets(args)
    settings = PlanSettings.from_env(project=args.project)
    for trigger in event_triggers(targets, settings):
        if trigger.target == args.target:
            if trigger.is_topic:
                return trigger.topic
            raise DeadLetterError(
                f"{args.target} is triggered by Eventarc ({trigger.event_type}): give --topic, "
                "the trigger's transport topic (gcloud eventarc triggers describe TRIGGER "
                "--location=LOCATION --format='value(transport.pubsub.topic)')"
            )
    events = ", ".join(t.name for t in targets if t.signature_type in ("event", "cloudevent"))
    raise DeadLetterError(f"{args.target!r} is not an event target (event targets: {events})")
