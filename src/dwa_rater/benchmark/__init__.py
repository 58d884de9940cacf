"""Benchmark raters against human labels: sample, rate, score a leaderboard.

Modules: :mod:`.sample` (stratified sample of reference items), :mod:`.metrics` (pure
leaderboard metrics with bootstrap intervals), :mod:`.run` (the ``dwa-rater benchmark``
pipeline on files). The report is rendered by :mod:`dwa_rater.report.benchmark`.
"""

from __future__ import annotations
