"""Human review of contested activities in Label Studio.

- ``select``: which items go to annotators, and why (pure functions on the ratings table).
- ``labeling``: the labelling screen generated from the rubric, and the task payloads.
- ``studio``: the Label Studio adapter (the only package that imports ``label_studio_sdk``):
  push, incremental pull, status, annotator accounts.
- ``convert``: raw Label Studio exports -> rows of the long ratings table, one rater per
  annotator (pseudonymised) plus a ``human`` consensus rater.
"""

from __future__ import annotations
