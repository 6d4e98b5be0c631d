"""Tests of shared/providers/: verifiers, OIDC tokens, every provider over HTTP, official SDKs."""
