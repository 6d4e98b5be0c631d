"""Dialogflow CX fulfilment calls: the target's description, how its requests are verified,
and its samples."""

from shared.providers.dialogflow._description import DIALOGFLOW as DIALOGFLOW
from shared.providers.dialogflow._description import DIALOGFLOW as PROVIDER
from shared.providers.dialogflow._description import Fulfilment as Fulfilment
from shared.providers.dialogflow._verify import DialogflowAuth as DialogflowAuth
from shared.providers.dialogflow._verify import verify_dialogflow as verify_dialogflow

__all__ = [
    "DIALOGFLOW",
    "DialogflowAuth",
    "Fulfilment",
    "PROVIDER",
    "verify_dialogflow",
]
