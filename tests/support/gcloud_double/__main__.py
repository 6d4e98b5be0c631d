"""`python -m tests.support.gcloud_double gcloud|bq ARGS...`: one call of the double."""

import sys

from ._cli import main

sys.exit(main(sys.argv[1:]))
