"""The one exception tree of the receiving path, translated to HTTP once, at the edge.

    WebhookError (500)
    ├── MethodNotAllowed (405, carries Allow)
    ├── PayloadTooLarge (413)
    ├── UnsupportedMediaType (415)
    ├── VerificationFailed (401)
    ├── Forbidden (403)
    ├── BadRequest (400)
    ├── ClaimInProgress (409, carries Retry-After)
    ├── PayloadMismatch (422)
    ├── NotConfigured (500)
    ├── ProcessorsFailed (500: the queue redelivers, and only the failed ones run again)
    ├── ProcessorsDeferred (503, carries Retry-After: a processor raised RetryLater)
    └── BackendUnavailable (503, carries Retry-After)

    PermanentFailure   raised by a processor: no retry can help (reported, completed)
    RetryLater         raised by a processor: run me again in N seconds

The last two are not answers but what a processor raises. PermanentFailure (a permission
refused, a trigger that does not exist, a payload FCM refuses) is reported as failed and
its run completed, so it is never retried. RetryLater (a partner API said 429, say) is
turned into ProcessorsDeferred, which each queue honours in its own way (Cloud Tasks:
503 + Retry-After; local queue: that delay; Pub/Sub: a nack).

Messages are shown to the caller, so they name the problem and never carry a secret,
a signature or a token.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


class WebhookError(Exception):
    """Base of every error the receiving path answers with; `status_code` is the HTTP status."""

    status_code = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> dict[str, str]:
        """Extra response headers this error requires (Allow, Retry-After)."""
        return {}


class MethodNotAllowed(WebhookError):
    status_code = 405

    def __init__(self, method: str, allowed: Sequence[str]) -> None:
        super().__init__(f"method {method} is not allowed; use {', '.join(allowed)}")
        self.allowed = tuple(allowed)

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class PayloadTooLarge(WebhookError):
    status_code = 413


class UnsupportedMediaType(WebhookError):
    status_code = 415


class VerificationFailed(WebhookError):
    status_code = 401


class Forbidden(WebhookError):
    status_code = 403


class BadRequest(WebhookError):
    status_code = 400


class PayloadMismatch(WebhookError):
    status_code = 422


class NotConfigured(WebhookError):
    status_code = 500


class ProcessorsFailed(WebhookError):
    status_code = 500

    def __init__(self, failures: Mapping[str, str]) -> None:
        """`failures`: processor name -> the type of what it raised (never its message)."""
        shown = ", ".join(f"{name} ({error})" for name, error in failures.items())
        super().__init__(f"processors failed: {shown}")
        self.failures = dict(failures)


class _RetryLater(WebhookError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ClaimInProgress(_RetryLater):
    status_code = 409


class BackendUnavailable(_RetryLater):
    """A store or queue failed, or the deadline ran out.

    `may_have_applied`: whether the failed call may still have taken effect (a timeout: the
    write may land although no answer came back), or certainly did not (refused, or never
    sent). Callers that must know where a key stands assume the worst when it is True.
    """

    status_code = 503

    def __init__(self, message: str, retry_after: int, *, may_have_applied: bool = True) -> None:
        super().__init__(message, retry_after)
        self.may_have_applied = may_have_applied


class ProcessorsDeferred(_RetryLater):
    status_code = 503

    def __init__(self, delays: Mapping[str, float]) -> None:
        """`delays`: processor name -> the seconds it asked to wait."""
        shown = ", ".join(f"{name} ({seconds:g} s)" for name, seconds in delays.items())
        longest = math.ceil(max(delays.values()))
        super().__init__(f"processors asked to retry later: {shown}", longest)
        self.delays = dict(delays)


class RetryLater(Exception):  # noqa: N818 - named for what the processor asks
    """Raised by a processor to back off: run me again in `seconds` (its claim is released,
    the other processors still run)."""

    def __init__(self, seconds: float, reason: str = "") -> None:
        if not seconds > 0:
            raise ValueError(f"RetryLater needs a delay > 0 seconds, got {seconds!r}")
        super().__init__(reason or f"retry in {seconds:g} s")
        self.seconds = float(seconds)


class PermanentFailure(Exception):
    """Raised by a processor when retrying the delivery can never succeed.

    The message is logged and must name the problem without carrying a secret."""
