"""Two targets named `hook` from two modules: functions-framework would keep one silently."""

from dup_alpha import hook
from dup_beta import hook as beta_hook

__all__ = ["beta_hook", "hook"]
