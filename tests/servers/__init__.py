"""Test-only loopback servers (provider look-alikes); the generic fakes are ``dwa_rater.testing``."""
