"""Tests of shared/devtools/: runrun send and the inspector."""
