"""Tests of runrun/deploy/: the deploy plans, their checks, the model project they run on."""
