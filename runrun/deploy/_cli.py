"""The deploy commands of the CLI: `deploy-plan [--setup] [--check]`, `cloudbuild` and
`dead-letters list|replay`."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from pathlib import Path
from typing import Any

from .._discover import Target, discover
from ._bundle import bundle_needs
from ._cloudbuild import cloudbuild_yaml
from ._dead_letters import DeadLetterError, list_dead_letters, print_letters, replay
from ._gcloud_check import HelpCache, check, cloudbuild_script
from ._plans import MODES, deploy_by_hand, event_triggers, script, setup_plan
from ._settings import PlanSettings


def add_parsers(commands: Any, source: argparse.ArgumentParser) -> None:
    deploy = commands.add_parser(
        "deploy-plan", parents=[source], help="print the gcloud commands deploying the targets"
    )
    deploy.add_argument("--mode", choices=MODES, help="required unless --check")
    deploy.add_argument(
        "--setup",
        action="store_true",
        help="the one-time setup (run by an Owner) instead of the per-commit deploy",
    )
    for flag in ("project", "region", "service", "image", "memory"):
        deploy.add_argument(f"--{flag}", default="")
    for flag in ("min-instances", "max-instances", "timeout", "concurrency"):
        deploy.add_argument(f"--{flag}", type=int, default=None)
    deploy.add_argument(
        "--cpu-boost", action=argparse.BooleanOptionalAction, default=None, help="default: on"
    )
    deploy.add_argument(
        "--check",
        action="store_true",
        help="hold every command and flag of both plans (both modes unless --mode) and of "
        "cloudbuild.yaml against the installed gcloud's --help; exit 1 naming each bad line",
    )
    deploy.add_argument(
        "--cloudbuild", type=Path, default=Path("cloudbuild.yaml"), help="checked with --check"
    )

    letters = commands.add_parser(
        "dead-letters", help="list or replay what was dead-lettered for an event target"
    )
    actions = letters.add_subparsers(dest="action", required=True)
    for name in ("list", "replay"):
        action = actions.add_parser(name, parents=[source])
        action.add_argument("target", help="the event target, e.g. process_delivery")
        action.add_argument("--project", default=os.environ.get("GOOGLE_CLOUD_PROJECT", ""))
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


def plan_settings(args: argparse.Namespace, targets: tuple[Target, ...]) -> PlanSettings:
    overrides: dict[str, Any] = {
        name: getattr(args, name, None)
        for name in (
            "project",
            "region",
            "service",
            "image",
            "memory",
            "min_instances",
            "max_instances",
            "timeout",
            "concurrency",
            "cpu_boost",
        )
    }
    if args.source is not None:
        overrides["pyproject"] = args.source.resolve().parent / "pyproject.toml"
    settings = PlanSettings.from_env(**overrides)
    needs = bundle_needs(targets, settings.project, settings.region)
    return dataclasses.replace(settings, needs=needs)


def _check(args: argparse.Namespace, targets: tuple[Target, ...]) -> int:
    if not (args.region or os.environ.get("RUNRUN_REGION")):
        args.region = "REGION"  # the commands are checked, not the values
    s = plan_settings(args, targets)
    lines: list[tuple[str, str]] = []
    for mode in [args.mode] if args.mode else MODES:
        if mode == "functions" and s.needs.queue is not None:
            continue
        lines += [(f"deploy-plan --setup --mode {mode}", x) for x in setup_plan(mode, targets, s)]
        lines += [(f"deploy-plan --mode {mode}", x) for x in deploy_by_hand(mode, s)]
    if args.cloudbuild.is_file():
        lines += [(str(args.cloudbuild), x) for x in cloudbuild_script(args.cloudbuild.read_text())]
    cache = HelpCache()
    problems = check(lines, cache)
    for problem in problems:
        print(problem, file=sys.stderr)
    print(
        f"checked {len(lines)} lines, {len(cache.leaves)} gcloud commands, against {cache.gcloud}: "
        + (f"{len(problems)} problem(s)" if problems else "all known"),
        file=sys.stderr,
    )
    return 1 if problems else 0


def deploy_plan(args: argparse.Namespace) -> int:
    targets = _targets(args)
    if args.check:
        return _check(args, targets)
    if not args.mode:
        raise SystemExit("deploy-plan: --mode run|functions is required (or give --check)")
    s = plan_settings(args, targets)
    lines = setup_plan(args.mode, targets, s) if args.setup else deploy_by_hand(args.mode, s)
    for line in script(lines):
        print(line)
    return 0


def cloudbuild(args: argparse.Namespace) -> int:
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
    base = PlanSettings(project=args.project, region="any")
    settings = dataclasses.replace(base, needs=bundle_needs(targets, args.project, "any"))
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
