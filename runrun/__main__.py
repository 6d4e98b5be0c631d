"""`python -m runrun ...`."""

import gc
import sys

# Importing the CLI, the server and the targets allocates tens of thousands of objects that
# live as long as the process; the collector's passes over them while they are created find
# next to nothing to free and cost a noticeable part of a cold start. `serve` freezes them
# once the targets are loaded and turns the collector back on (`_server.prepare`).
gc.disable()
try:
    from ._cli import main
finally:
    gc.enable()

sys.exit(main())
