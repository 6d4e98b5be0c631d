"""The root main.py exposes every target, as functions-framework and Cloud Functions expect."""

import main

TARGETS = {
    "generic_webhook",
    "github_webhook",
    "stripe_webhook",
    "slack_events",
    "process_delivery",
}


def test_main_reexports_every_target() -> None:
    assert TARGETS <= set(main.__all__)
    for name in TARGETS:
        assert callable(getattr(main, name))
