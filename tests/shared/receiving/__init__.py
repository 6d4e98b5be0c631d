"""Tests of shared/receiving/: the receive pipeline over HTTP and its ambiguous outcomes."""
