"""Tests of shared/dialogflow/: the Dialogflow CX fulfilment webhook."""
