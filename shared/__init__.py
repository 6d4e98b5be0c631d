"""What webhook targets share: verification, handshakes, idempotency, handoff and logging.

A target is a functions-framework function that describes its provider and calls `receive`;
the processor target calls `process_push`. Both run on this process's `Runtime`, which
owns every backend (see `shared.runtime`).

    shared
    ├── _errors, _deadline, _delivery, _log, _observe, _http   the kit every layer uses
    ├── settings      read from the environment once, passed down as values
    ├── backends      idempotency store, queues (handoff), documents, Google clients
    ├── providers     each provider's description and verifier
    ├── receiving     request -> verified, claimed, handed off -> 2xx
    ├── processing    push envelope -> one claimed run per (delivery, processor)
    ├── dialogflow    Dialogflow CX fulfilment: answered in the call
    ├── processors    the shipped processors, one package each
    └── runtime       the composition root, and the entry points targets call
"""

from shared._deadline import deadline_scope as deadline_scope
from shared._delivery import Delivery as Delivery
from shared._errors import BackendUnavailable as BackendUnavailable
from shared._errors import BadRequest as BadRequest
from shared._errors import ClaimInProgress as ClaimInProgress
from shared._errors import Forbidden as Forbidden
from shared._errors import MethodNotAllowed as MethodNotAllowed
from shared._errors import NotConfigured as NotConfigured
from shared._errors import PayloadMismatch as PayloadMismatch
from shared._errors import PayloadTooLarge as PayloadTooLarge
from shared._errors import PermanentFailure as PermanentFailure
from shared._errors import ProcessorsDeferred as ProcessorsDeferred
from shared._errors import ProcessorsFailed as ProcessorsFailed
from shared._errors import RetryLater as RetryLater
from shared._errors import UnsupportedMediaType as UnsupportedMediaType
from shared._errors import VerificationFailed as VerificationFailed
from shared._errors import WebhookError as WebhookError
from shared._log import configure_logging as configure_logging
from shared._observe import DeliveryReport as DeliveryReport
from shared._observe import Observer as Observer
from shared._observe import RunReport as RunReport
from shared.backends.handoff import MemoryPublisher as MemoryPublisher
from shared.processing import ProcessorRegistry as ProcessorRegistry
from shared.processing import process_event as process_event
from shared.providers import Handshake as Handshake
from shared.providers import Inbound as Inbound
from shared.providers import Provider as Provider
from shared.providers import echo_challenge as echo_challenge
from shared.providers import meta_subscribe as meta_subscribe
from shared.providers import query_echo as query_echo
from shared.providers import slack_url_verification as slack_url_verification
from shared.providers import text_answer as text_answer
from shared.providers import text_of as text_of
from shared.providers import x_crc as x_crc
from shared.providers import zoom_url_validation as zoom_url_validation
from shared.runtime import Runtime as Runtime
from shared.runtime import announce_backends as announce_backends
from shared.runtime import check_scheduling as check_scheduling
from shared.runtime import current_runtime as current_runtime
from shared.runtime import fulfil as fulfil
from shared.runtime import fulfilment_target as fulfilment_target
from shared.runtime import install_runtime as install_runtime
from shared.runtime import process_push as process_push
from shared.runtime import receive as receive
from shared.runtime import stop_runtime as stop_runtime
from shared.runtime import using_runtime as using_runtime
from shared.runtime import webhook_target as webhook_target
from shared.settings import ConfigError as ConfigError
from shared.settings import Settings as Settings
from shared.settings import get_settings as get_settings
from shared.settings import reload_settings as reload_settings
from shared.settings import secrets_from_env as secrets_from_env

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
    "fulfil",
    "fulfilment_target",
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
    "webhook_target",
    "x_crc",
    "zoom_url_validation",
]
