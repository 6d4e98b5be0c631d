"""The dialogflow provider: how its requests are verified."""

from shared.providers.dialogflow._verify import DialogflowAuth as DialogflowAuth
from shared.providers.dialogflow._verify import verify_dialogflow as verify_dialogflow

__all__ = [
    "DialogflowAuth",
    "verify_dialogflow",
]
