"""Tests of shared/catchup/: runrun catch-up github against the GitHub stand-in."""
