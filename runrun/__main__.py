"""`runrun ...` (the installed console script) and `python -m runrun ...`."""

import gc
import sys


def run() -> None:
    """The console script: run the command line and exit with its status."""
    # Importing the CLI, the server and the targets allocates tens of thousands of objects
    # that live as long as the process; the collector's passes over them while they are
    # created find next to nothing to free and cost a noticeable part of a cold start. They
    # are frozen before the collector is back on: all of them still sit in its youngest
    # generation, so its next pass would walk every one (and the pass after, the survivors
    # again; docs/benchmarks.md, P5, measures it). `serve` freezes what loading the targets
    # adds the same way (`_server.prepare`).
    gc.disable()
    try:
        from ._cli import main
    finally:
        gc.freeze()
        gc.enable()
    sys.exit(main())


if __name__ == "__main__":
    run()
