"""The settings: read from the environment in one place, validated when read, passed down.

The `env_*` readers are what a processor's own settings block reads its variables with
(docs/extending.md): the runtime calls that block's `settings` once, when it builds the
processor's context.

`get_settings()` is called by the runtime (the composition root) and by runrun; every
module below the runtime gets the values it needs from it, never from here.
"""

from shared.settings._env import ConfigError as ConfigError
from shared.settings._env import env_float as env_float
from shared.settings._env import env_int as env_int
from shared.settings._env import env_switch as env_switch
from shared.settings._env import env_text as env_text
from shared.settings._env import secrets_from_env as secrets_from_env
from shared.settings._metrics import MetricsSettings as MetricsSettings
from shared.settings._notify_routes import NotifyRoute as NotifyRoute
from shared.settings._notify_routes import RouteError as RouteError
from shared.settings._notify_routes import parse_routes as parse_routes
from shared.settings._notify_routes import route_for as route_for
from shared.settings._secrets import Secrets as Secrets
from shared.settings._settings import Settings as Settings
from shared.settings._settings import get_settings as get_settings
from shared.settings._settings import override_env as override_env
from shared.settings._settings import reload_settings as reload_settings
from shared.settings._settings import safety_margin as safety_margin

__all__ = [
    "ConfigError",
    "MetricsSettings",
    "NotifyRoute",
    "RouteError",
    "Secrets",
    "Settings",
    "env_float",
    "env_int",
    "env_switch",
    "env_text",
    "get_settings",
    "override_env",
    "parse_routes",
    "reload_settings",
    "route_for",
    "safety_margin",
    "secrets_from_env",
]
