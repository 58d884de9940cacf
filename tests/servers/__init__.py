"""Test-only loopback servers (provider look-alikes); generic fakes: ``dwa_rater.testing``."""
