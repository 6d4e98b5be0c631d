"""Tests of shared/backends/: batching, group commit, SQLite connections, the embedded intake."""
