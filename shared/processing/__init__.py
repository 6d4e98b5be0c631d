"""The processing side: the queue's push envelope, the registry of processors, and one
claimed run per (delivery, processor), completed or released."""

from shared.processing._process import ProcessorRegistry as ProcessorRegistry
from shared.processing._process import process_event as process_event
from shared.processing._push import process_push_with as process_push_with

__all__ = [
    "ProcessorRegistry",
    "process_event",
    "process_push_with",
]
