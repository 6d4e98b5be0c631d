"""Tests of shared/processing/: the processing side, its claims, completions and dead letters."""
