"""Demonstration data: synthetic job postings (:mod:`.synthetic`), never a model of a market."""
