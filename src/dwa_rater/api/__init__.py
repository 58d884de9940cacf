"""The Python API, re-exported from :mod:`dwa_rater` (imported lazily from there).

- :mod:`.rating`: :func:`load_onet`, :func:`dwa_items`, :func:`task_items`, :func:`rate`,
  :func:`arate`;
- :mod:`.analysis`: :func:`agree`, :func:`calibrate`;
- the index builders live in :mod:`dwa_rater.indices` and are re-exported by name from
  :mod:`dwa_rater` (see ``dwa_rater.__all__``).
"""

from __future__ import annotations

from dwa_rater.api.analysis import agree, as_ratings, calibrate
from dwa_rater.api.rating import arate, as_items, as_raters, dwa_items, load_onet, rate, task_items

__all__ = [
    "agree",
    "arate",
    "as_items",
    "as_raters",
    "as_ratings",
    "calibrate",
    "dwa_items",
    "load_onet",
    "rate",
    "task_items",
]
