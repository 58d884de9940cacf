"""Indices built from DWA exposure scores: O*NET tasks and occupations, comparisons with
published measures, the city AI-development index and the remote-work index.

Every index reads one DWA score table (:func:`dwa_rater.indices.scores.dwa_scores`), made either
from the exported calibrated scores or from a long ratings table.
"""
