"""Talking to models: client construction, the embedded local server, retries and rate limits."""
