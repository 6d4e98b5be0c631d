"""`python -m shared.catchup github ...`: the catch-up command without runrun."""

import sys

from . import main

sys.exit(main())
