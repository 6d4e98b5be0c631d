"""The settings: read from the environment in one place, validated when read, passed down.

`get_settings()` is called by the runtime (the composition root) and by runrun; every
module below the runtime gets the values it needs from it, never from here.
"""

from shared.settings._env import ConfigError as ConfigError
from shared.settings._env import secrets_from_env as secrets_from_env
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
    "NotifyRoute",
    "RouteError",
    "Secrets",
    "Settings",
    "get_settings",
    "override_env",
    "parse_routes",
    "reload_settings",
    "route_for",
    "safety_margin",
    "secrets_from_env",
]
