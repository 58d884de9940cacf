"""Human review of contested activities in Label Studio.

- ``select``: which items go to annotators, and why (pure functions on the ratings table).
- ``wording``: what the screen says in English and Chinese: the rubric's labels, names and
  definitions (its manifest's ``[scale]``) and the screen's text (``annotations/wording/``).
- ``context``: what a task shows around a DWA: linked O*NET task statements and occupations,
  machine translations.
- ``labeling``: the labelling screen generated from the rubric, and the task payloads.
- ``translate``: machine translations of statements by an LLM, cached.
- ``pseudonyms``: annotator pseudonyms keyed by a secret (HMAC-SHA-256).
- ``live_agreement``: counts, lead times and agreement among annotators during a round.
- ``adjudication``: disputed items, and the adjudicated labels merged into the ratings.
- ``studio``: the Label Studio adapter (the only package that imports ``label_studio_sdk``):
  push, incremental pull, status, adjudication projects, annotator accounts.
- ``convert``: raw Label Studio exports -> rows of the long ratings table, one rater per
  annotator (pseudonymised) plus a ``human`` consensus rater.
"""

from __future__ import annotations
