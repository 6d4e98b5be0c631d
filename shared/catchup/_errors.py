"""The one exception tree of catch-up; each carries the exit status the command ends with.

    CatchUpError (exit 1)
    ├── UsageError (exit 2): a bad command line or setting, named
    ├── GitHubError (exit 1): GitHub answered an error (status, GitHub's own message)
    │   └── RateLimited (exit 1): still rate limited after every wait GitHub asked for
    └── StoreUnavailable (exit 1): the idempotency store could not be read or written

Messages are printed, so they name the problem and never carry a token or a key.
"""

from __future__ import annotations


class CatchUpError(Exception):
    """Base of every error catch-up reports; `exit_code` is the command's exit status."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CatchUpError):
    exit_code = 2


class GitHubError(CatchUpError):
    """GitHub answered `status`; the message carries what GitHub said about it."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(GitHubError):
    pass


class StoreUnavailable(CatchUpError):
    pass
