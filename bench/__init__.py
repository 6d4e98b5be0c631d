"""Benchmarks: runrun against functions-framework, side by side in one invocation."""
