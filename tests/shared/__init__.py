"""Tests of shared/, one folder per package."""
