"""Human-labelled reference data and the offline reference rater.

Modules: :mod:`.labelsets` (published label sets such as Eloundou et al. 2024 into the long
ratings table), :mod:`.vote` (pure similarity-weighted nearest-neighbour vote),
:mod:`.rater` (the reference rater: a labelled table plus the embedding model),
:mod:`.engine` (the reference rater inside a rating run: cache, journal, provenance),
:mod:`.dwa` (task labels carried to DWAs through O*NET's Tasks to DWAs).
"""

from __future__ import annotations
