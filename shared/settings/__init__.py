"""The settings: one frozen block per concern, read from the environment in one place
(`Settings.from_env()`), validated when read, passed down as values.

The `env_*` readers are what a processor's own settings block reads its variables with
(docs/extending.md): the runtime calls that block's reader once, when it builds the
processor's context.

`get_settings()` is called by the runtime (the composition root), the bundle's hooks and
runrun's deploy plan; every module below the runtime gets the values it needs from them,
never from here.
"""

from shared.settings._dev import DevSettings as DevSettings
from shared.settings._dialogflow import DialogflowSettings as DialogflowSettings
from shared.settings._env import ConfigError as ConfigError
from shared.settings._env import env_choice as env_choice
from shared.settings._env import env_float as env_float
from shared.settings._env import env_int as env_int
from shared.settings._env import env_list as env_list
from shared.settings._env import env_switch as env_switch
from shared.settings._env import env_text as env_text
from shared.settings._env import secrets_from_env as secrets_from_env
from shared.settings._metrics import MetricsSettings as MetricsSettings
from shared.settings._queue import QueueSettings as QueueSettings
from shared.settings._receive import ReceiveSettings as ReceiveSettings
from shared.settings._receive import safety_margin as safety_margin
from shared.settings._secrets import Secrets as Secrets
from shared.settings._server import ServerSettings as ServerSettings
from shared.settings._settings import Settings as Settings
from shared.settings._settings import get_settings as get_settings
from shared.settings._settings import reload_settings as reload_settings
from shared.settings._store import StoreSettings as StoreSettings

__all__ = [
    "ConfigError",
    "DevSettings",
    "DialogflowSettings",
    "MetricsSettings",
    "QueueSettings",
    "ReceiveSettings",
    "Secrets",
    "ServerSettings",
    "Settings",
    "StoreSettings",
    "env_choice",
    "env_float",
    "env_int",
    "env_list",
    "env_switch",
    "env_text",
    "get_settings",
    "reload_settings",
    "safety_margin",
    "secrets_from_env",
]
