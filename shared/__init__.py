"""What webhook targets share: verification, handshakes, idempotency, handoff and logging.

A target is a functions-framework function that describes its provider and calls `receive`;
the processor target calls `process_push`. Both run on this process's `Runtime`, which
owns every backend (see `shared._runtime`).
"""

from ._config import Settings as Settings
from ._config import get_settings as get_settings
from ._config import reload_settings as reload_settings
from ._deadline import deadline_scope as deadline_scope
from ._delivery import Delivery as Delivery
from ._env import ConfigError as ConfigError
from ._env import secrets_from_env as secrets_from_env
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
    ProcessorsDeferred as ProcessorsDeferred,
)
from ._errors import (
    ProcessorsFailed as ProcessorsFailed,
)
from ._errors import (
    RetryLater as RetryLater,
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
from ._observe import DeliveryReport as DeliveryReport
from ._observe import Observer as Observer
from ._observe import RunReport as RunReport
from ._process import PermanentFailure as PermanentFailure
from ._process import ProcessorRegistry as ProcessorRegistry
from ._process import process_event as process_event
from ._provider import Handshake as Handshake
from ._provider import Inbound as Inbound
from ._provider import Provider as Provider
from ._provider import text_of as text_of
from ._push import process_push as process_push
from ._receive import receive as receive
from ._runtime import Runtime as Runtime
from ._runtime import check_scheduling as check_scheduling
from ._runtime import current_runtime as current_runtime
from ._runtime import install_runtime as install_runtime
from ._runtime import stop_runtime as stop_runtime
from ._runtime import using_runtime as using_runtime
from .handoff import MemoryPublisher as MemoryPublisher

__all__ = [
    "BackendUnavailable",
    "BadRequest",
    "ClaimInProgress",
    "ConfigError",
    "Delivery",
    "DeliveryReport",
    "Forbidden",
    "Handshake",
    "Inbound",
    "MemoryPublisher",
    "MethodNotAllowed",
    "NotConfigured",
    "Observer",
    "PayloadMismatch",
    "PayloadTooLarge",
    "PermanentFailure",
    "ProcessorRegistry",
    "ProcessorsDeferred",
    "ProcessorsFailed",
    "Provider",
    "RetryLater",
    "RunReport",
    "Runtime",
    "Settings",
    "UnsupportedMediaType",
    "VerificationFailed",
    "WebhookError",
    "announce_backends",
    "check_scheduling",
    "configure_logging",
    "current_runtime",
    "deadline_scope",
    "echo_challenge",
    "get_settings",
    "install_runtime",
    "meta_subscribe",
    "process_event",
    "process_push",
    "query_echo",
    "receive",
    "reload_settings",
    "secrets_from_env",
    "slack_url_verification",
    "stop_runtime",
    "text_answer",
    "text_of",
    "using_runtime",
    "x_crc",
    "zoom_url_validation",
]
