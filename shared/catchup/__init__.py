"""Catch-up after an outage: ask GitHub to redeliver what it recorded as failed and runrun
never accepted (docs/catch-up.md).

GitHub does not redeliver failed deliveries on its own; it lists a hook's deliveries and
redelivers one on request, for three days. `main` is the command (`runrun catch-up github`,
`python -m shared.catchup github`); `catch_up` is one run over a hook, for callers that
build their own client; `schedule_steps` are the gcloud steps a deploy plan adds to run it
every hour, and `scheduled_needs` what a deploy tool needs for them, from the settings.
"""

from ._auth import AppAuth as AppAuth
from ._auth import TokenAuth as TokenAuth
from ._cli import main as main
from ._deploy import scheduled_needs as scheduled_needs
from ._errors import CatchUpError as CatchUpError
from ._github import HookDeliveries as HookDeliveries
from ._github import app_hook as app_hook
from ._github import org_hook as org_hook
from ._github import repo_hook as repo_hook
from ._http import GitHubHttp as GitHubHttp
from ._ledger import Ledger as Ledger
from ._run import Report as Report
from ._run import Verdict as Verdict
from ._run import catch_up as catch_up
from ._schedule import Step as Step
from ._schedule import schedule_steps as schedule_steps

__all__ = [
    "AppAuth",
    "CatchUpError",
    "GitHubHttp",
    "HookDeliveries",
    "Ledger",
    "Report",
    "Step",
    "TokenAuth",
    "Verdict",
    "app_hook",
    "catch_up",
    "main",
    "org_hook",
    "repo_hook",
    "schedule_steps",
    "scheduled_needs",
]
