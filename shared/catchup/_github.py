"""A hook's deliveries through GitHub's REST API: list them, ask for one again.

Operations (github/rest-api-description, api.github.com 2022-11-28):
`repos/list-webhook-deliveries`  GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries
`orgs/list-webhook-deliveries`   GET /orgs/{org}/hooks/{hook_id}/deliveries
`apps/list-webhook-deliveries`   GET /app/hook/deliveries (the app's own webhook, JWT)
each with `per_page` (max 100) and `cursor` ("the starting delivery from which the page of
deliveries is fetched. Refer to the `link` header for the next and previous page cursors"),
answering a `hook-delivery-item` array, newest first; and `.../deliveries/{delivery_id}/attempts`
(POST, 202 Accepted) to redeliver one. The `status` filter (success | failure by status code
range) is not used: an event's successful attempts are needed to know it arrived.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ._attempts import Attempt, parse_attempt
from ._auth import Auth
from ._errors import GitHubError
from ._http import GitHubHttp

PER_PAGE = 100  # the most GitHub gives per page: fewest calls against the rate limit


@dataclass(frozen=True)
class Hook:
    """Which webhook: a repository's, an organisation's, or the GitHub App's own."""

    label: str
    deliveries_path: str
    # Where the hook's App installation is found; None for the app's own hook (JWT only).
    installation_path: str | None


def repo_hook(repository: str, hook_id: int) -> Hook:
    owner, _, name = repository.partition("/")
    return Hook(
        f"repository {repository} hook {hook_id}",
        f"/repos/{owner}/{name}/hooks/{hook_id}/deliveries",
        f"/repos/{owner}/{name}/installation",
    )


def org_hook(org: str, hook_id: int) -> Hook:
    return Hook(
        f"organisation {org} hook {hook_id}",
        f"/orgs/{org}/hooks/{hook_id}/deliveries",
        f"/orgs/{org}/installation",
    )


def app_hook() -> Hook:
    return Hook("the GitHub App's webhook", "/app/hook/deliveries", None)


class HookDeliveries:
    """The deliveries of one hook."""

    def __init__(self, http: GitHubHttp, auth: Auth, hook: Hook) -> None:
        self.http = http
        self.auth = auth
        self.hook = hook

    def attempts(self, since: float) -> Iterator[Attempt]:
        """Every attempt back to `since` (epoch seconds), page by page, newest first; the
        page that reaches past `since` is the last one fetched."""
        url: str | None = self.http.url(self.hook.deliveries_path)
        params: dict[str, str] | None = {"per_page": str(PER_PAGE)}
        while url is not None:
            response = self.http.call("GET", url, authorization=self._auth(), params=params)
            items = response.json()
            if not isinstance(items, list):
                raise GitHubError(f"{self.hook.deliveries_path}: GitHub's answer is no list")
            page = [parse_attempt(item) for item in items]
            yield from page
            url = response.links.get("next", {}).get("url")
            if not page or all(attempt.when < since for attempt in page):
                return
            if url is not None and not self.http.same_origin(url):
                raise GitHubError(f"GitHub's next page is on another host: {url}")
            params = None  # the next link carries the cursor and per_page

    def redeliver(self, attempt: Attempt) -> None:
        """Ask GitHub to deliver `attempt` again (202: GitHub makes the new attempt later)."""
        path = f"{self.hook.deliveries_path}/{attempt.id}/attempts"
        self.http.call("POST", self.http.url(path), authorization=self._auth(), expect=(202,))

    def _auth(self) -> str:
        return self.auth.authorization(self.http, self.hook.installation_path)
