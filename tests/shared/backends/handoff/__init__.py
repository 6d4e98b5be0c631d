"""Tests of shared/backends/handoff/: group commit, Cloud Tasks hand-off."""
