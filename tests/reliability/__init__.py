"""The whole system under faults, fuzzing, load, shutdown and several instances."""
