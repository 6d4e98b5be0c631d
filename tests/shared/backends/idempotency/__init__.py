"""Tests of shared/backends/idempotency/: every store against one contract."""
