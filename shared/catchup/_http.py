"""Calls to GitHub's REST API that keep to GitHub's rules on rate limits, one at a time.

docs.github.com, "Rate limits for the REST API" (Exceeding the rate limit) and "Best
practices for using the REST API":

- a 403 or 429 with `retry-after`: wait that many seconds;
- else with `x-ratelimit-remaining: 0`: wait until `x-ratelimit-reset` (UTC epoch seconds);
- else a secondary limit: wait at least a minute, exponentially longer while it repeats,
  and give up after a number of retries;
- a successful answer with `x-ratelimit-remaining: 0` means no request until the reset;
- requests one at a time (this client never overlaps them), and at least one second
  between mutative ones (the redelivery POSTs).

The clock and the sleeper are injected: the tests observe every wait through the sleeper,
never the wall clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from ._errors import GitHubError, RateLimited

log = logging.getLogger("runrun.catchup")

Clock = Callable[[], float]  # epoch seconds
Sleep = Callable[[float], None]

API_VERSION = "2022-11-28"
# The primary limit resets every hour: a reset further away than this is a skewed clock.
_LONGEST_WAIT = 3660.0
_SECONDARY_FIRST_WAIT = 60.0
_MUTATION_GAP = 1.0


class GitHubHttp:
    """One caller of GitHub's API at `base_url` (https://api.github.com, or an Enterprise
    Server's /api/v3), waiting out rate limits as GitHub asks."""

    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
        session: requests.Session | None = None,
        max_waits: int = 8,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self.sleep = sleep
        self.session = session or requests.Session()
        self.max_waits = max_waits
        self.timeout = timeout
        self._not_before = 0.0  # no request before this (a spent primary limit)
        self._last_mutation: float | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def same_origin(self, url: str) -> bool:
        """`url` is on the API this client calls (a Link header must not send the token
        anywhere else)."""
        mine, theirs = urlsplit(self.base_url), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)

    def call(
        self,
        method: str,
        url: str,
        *,
        authorization: str,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        expect: tuple[int, ...] = (200,),
    ) -> requests.Response:
        """`method url`, waiting out rate limits; the response when its status is one of
        `expect`, else GitHubError with GitHub's message."""
        waits = secondary = 0
        while True:
            self._pace(method)
            response = self._send(method, url, authorization, params, body)
            self._note_budget(response)
            wait = rate_limit_wait(response, secondary, self.clock())
            if wait is None:
                break
            if waits >= self.max_waits:
                raise RateLimited(
                    f"GitHub still rate limits {method} {_path(url)} after {waits} waits: "
                    f"{_message(response)}",
                    response.status_code,
                )
            waits += 1
            secondary += 0 if _primary(response) else 1
            log.warning(
                "GitHub rate limit: waiting",
                extra={"seconds": round(wait, 1), "status": response.status_code},
            )
            self.sleep(wait)
        if response.status_code not in expect:
            raise GitHubError(
                f"GitHub answered {response.status_code} to {method} {_path(url)}: "
                f"{_message(response)}",
                response.status_code,
            )
        return response

    def _send(
        self,
        method: str,
        url: str,
        authorization: str,
        params: Mapping[str, str] | None,
        body: Any,
    ) -> requests.Response:
        headers = {
            "Accept": "application/vnd.github+json",
            "Authorization": authorization,
            "User-Agent": "runrun-catch-up",
            "X-GitHub-Api-Version": API_VERSION,
        }
        try:
            return self.session.request(
                method, url, params=params, json=body, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            raise GitHubError(f"could not reach GitHub for {method} {_path(url)}: {exc}") from exc

    def _pace(self, method: str) -> None:
        now = self.clock()
        if now < self._not_before:
            self.sleep(self._not_before - now)
        if method in ("POST", "PATCH", "PUT", "DELETE"):
            if self._last_mutation is not None:
                gap = self.clock() - self._last_mutation
                if gap < _MUTATION_GAP:
                    self.sleep(_MUTATION_GAP - gap)
            self._last_mutation = self.clock()

    def _note_budget(self, response: requests.Response) -> None:
        if response.ok and response.headers.get("x-ratelimit-remaining") == "0":
            reset = _number(response.headers.get("x-ratelimit-reset"))
            if reset is not None:
                self._not_before = min(reset + 1, self.clock() + _LONGEST_WAIT)


def rate_limit_wait(response: requests.Response, secondary: int, now: float) -> float | None:
    """How long GitHub asks to wait before retrying, or None when `response` is no rate
    limit. `secondary`: how many secondary limits this request met already."""
    if response.status_code not in (403, 429):
        return None
    retry_after = _number(response.headers.get("retry-after"))
    if retry_after is not None:
        return min(max(retry_after, 1.0), _LONGEST_WAIT)
    if _primary(response):
        reset = _number(response.headers.get("x-ratelimit-reset")) or now + _SECONDARY_FIRST_WAIT
        return min(max(reset - now + 1, 1.0), _LONGEST_WAIT)
    if response.status_code == 429 or "rate limit" in _message(response).lower():
        return min(_SECONDARY_FIRST_WAIT * 2.0**secondary, _LONGEST_WAIT)
    return None  # a 403 that is no limit: missing permission, refused, ...


def _primary(response: requests.Response) -> bool:
    return response.headers.get("x-ratelimit-remaining") == "0"


def _number(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None


def _message(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text[:200] or response.reason or "no message"
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        return str(payload["message"])
    return str(payload)[:200]


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
