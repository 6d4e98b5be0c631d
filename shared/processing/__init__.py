"""The processing side: the queue's push envelope, the registry of processors, and one
claimed run per (delivery, processor), completed or released; each processor sees only
its narrow context."""

from shared._delivery import Delivery as Delivery
from shared.processing._context import ProcessorContext as ProcessorContext
from shared.processing._host import ProcessingRuntime as ProcessingRuntime
from shared.processing._process import process_event as process_event
from shared.processing._push import process_push_with as process_push_with
from shared.processing._registry import ANY as ANY
from shared.processing._registry import Processor as Processor
from shared.processing._registry import ProcessorRegistry as ProcessorRegistry
from shared.processing._registry import Registration as Registration

__all__ = [
    "ANY",
    "Delivery",
    "ProcessingRuntime",
    "Processor",
    "ProcessorContext",
    "ProcessorRegistry",
    "Registration",
    "process_event",
    "process_push_with",
]
