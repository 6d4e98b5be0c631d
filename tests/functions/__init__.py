"""Tests of functions/ and main.py: every target exported as functions-framework expects."""
