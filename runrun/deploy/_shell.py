"""How a plan is written as bash: quoting, describe-or-create, and bounded retries.

Retries: a new service account "might need 60 seconds or more" before it can be used
(cloud.google.com/iam/docs/service-accounts-create), and the first Eventarc trigger of a
project may fail while Eventarc's service agent is being provisioned, succeeding when
retried (cloud.google.com/eventarc/docs/issues). Those calls go through `runrun_retry`: up
to RUNRUN_RETRY_ATTEMPTS tries (default 6), waiting 5, 10, 20, 40, 80 s between them
(RUNRUN_RETRY_DELAY sets the first wait), each retry printed on stderr.
"""

from __future__ import annotations

import shlex

# Shell variables the plans set and read (Cloud Build must not expand them).
SHELL_VARS = (
    "PROJECT_NUMBER",
    "PUBSUB_AGENT",
    "STORAGE_AGENT",
    "SERVICE_URL",
    "TRIGGER",
    "SUBSCRIPTION",
    "RUN_SERVICE",
    "MISSING_SECRETS",
    "FIRST_DEPLOY",
    "MONITORING_DIR",
    "POLICY",
    "JOB_IMAGE",
)

RETRY_FUNCTION = (
    "runrun_retry() {",
    '  local attempt=1 delay="${RUNRUN_RETRY_DELAY:-5}"',
    '  until "$@"; do',
    '    if [ "$attempt" -ge "${RUNRUN_RETRY_ATTEMPTS:-6}" ]; then',
    '      echo "runrun: giving up after $attempt attempts: $*" >&2',
    "      return 1",
    "    fi",
    '    echo "runrun: attempt $attempt failed; retrying in ${delay}s: $*" >&2',
    '    sleep "$delay"',
    "    attempt=$((attempt + 1))",
    "    delay=$((delay * 2))",
    "  done",
    "}",
)
HEADER = ("#!/usr/bin/env bash", "set -euo pipefail")


def render(argv: list[str]) -> str:
    """A shell line; arguments holding `$` stay double-quoted so substitutions expand."""
    return " ".join(f'"{a}"' if "$" in a else shlex.quote(a) for a in argv)


def ensure(describe: list[str], create: list[str], *, retried: bool = False) -> str:
    """Describe-or-create: the second run of a plan finds everything and changes nothing."""
    make = ("runrun_retry " if retried else "") + render(create)
    return f"{render(describe)} >/dev/null 2>&1 || {make}"


def converge(describe: list[str], update: list[str], create: list[str]) -> str:
    """Update what exists to the plan's settings, create what does not."""
    return (
        f"if {render(describe)} >/dev/null 2>&1; then {render(update)}; else {render(create)}; fi"
    )


def retried(argv: list[str], *, quiet: bool = True) -> str:
    """A call that may fail while a new account or agent propagates: retried, bounded."""
    return "runrun_retry " + render(argv) + (" >/dev/null" if quiet else "")
