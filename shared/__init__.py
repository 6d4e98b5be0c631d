"""What webhook targets share: verification, handshakes, idempotency, handoff and logging.

A target is a functions-framework function that describes its provider and calls `receive`;
the processor target calls `process_event` with its registry.
"""

from ._config import ConfigError as ConfigError
from ._config import Settings as Settings
from ._config import get_settings as get_settings
from ._config import reload_settings as reload_settings
from ._config import secrets_from_env as secrets_from_env
from ._deadline import deadline_scope as deadline_scope
from ._delivery import Delivery as Delivery
from ._errors import (
    BackendUnavailable as BackendUnavailable,
)
from ._errors import (
    BadRequest as BadRequest,
)
from ._errors import (
    ClaimInProgress as ClaimInProgress,
)
from ._errors import (
    Forbidden as Forbidden,
)
from ._errors import (
    MethodNotAllowed as MethodNotAllowed,
)
from ._errors import (
    NotConfigured as NotConfigured,
)
from ._errors import (
    PayloadMismatch as PayloadMismatch,
)
from ._errors import (
    PayloadTooLarge as PayloadTooLarge,
)
from ._errors import (
    UnsupportedMediaType as UnsupportedMediaType,
)
from ._errors import (
    VerificationFailed as VerificationFailed,
)
from ._errors import (
    WebhookError as WebhookError,
)
from ._handshake import echo_challenge as echo_challenge
from ._handshake import meta_subscribe as meta_subscribe
from ._handshake import query_echo as query_echo
from ._handshake import slack_url_verification as slack_url_verification
from ._handshake import text as text_answer
from ._handshake import x_crc as x_crc
from ._handshake import zoom_url_validation as zoom_url_validation
from ._log import announce_backends as announce_backends
from ._log import configure_logging as configure_logging
from ._process import PermanentFailure as PermanentFailure
from ._process import ProcessorRegistry as ProcessorRegistry
from ._process import authorize_push as authorize_push
from ._process import process_event as process_event
from ._provider import Handshake as Handshake
from ._provider import Inbound as Inbound
from ._provider import Provider as Provider
from ._provider import text_of as text_of
from ._receive import receive as receive

__all__ = [
    "BackendUnavailable",
    "BadRequest",
    "ClaimInProgress",
    "ConfigError",
    "Delivery",
    "Forbidden",
    "Handshake",
    "Inbound",
    "MethodNotAllowed",
    "NotConfigured",
    "PayloadMismatch",
    "PayloadTooLarge",
    "PermanentFailure",
    "ProcessorRegistry",
    "Provider",
    "Settings",
    "UnsupportedMediaType",
    "VerificationFailed",
    "WebhookError",
    "announce_backends",
    "authorize_push",
    "configure_logging",
    "deadline_scope",
    "echo_challenge",
    "get_settings",
    "meta_subscribe",
    "process_event",
    "query_echo",
    "receive",
    "reload_settings",
    "secrets_from_env",
    "slack_url_verification",
    "text_answer",
    "text_of",
    "x_crc",
    "zoom_url_validation",
]
