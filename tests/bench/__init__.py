"""Tests of bench/: the benchmark harness runs, and counts RPCs as the emulators see them."""
