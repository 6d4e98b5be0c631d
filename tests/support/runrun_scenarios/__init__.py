"""Tiny main.py-like modules and helpers for the runrun tests."""
