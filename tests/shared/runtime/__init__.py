"""Tests of shared/runtime/: warm starts."""
