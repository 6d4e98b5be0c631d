"""The whole system end to end (embedded backends, emulators), the docs' commands and examples,
and what importing the library starts."""
