"""Tests of runrun/, the shim: discovery, the command line, serving parity, the installed wheel."""
